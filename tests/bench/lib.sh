# Sourced by the HTTP benchmarks (ledger.sh, twin.sh), after they set TMP.
# Seeding users through the gateway: needs TMP (seed files go to $TMP/seed/I.user as
# "<user id> <access token>"), RUN_ID (makes emails and keys unique per run) and BASE_URL; the
# callers export these and the functions, so xargs can run them in parallel.
# CPU accounting: ticks, pg_ticks (needs PM, the postmaster's pid) and wrk's latency in ms.
mkdir -p "$TMP/seed"
# register I: POST /api/auth/register; writes "<user id> <token>" to seed/I.user.
register() {
  local i=$1 out
  out=$(curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' \
    -d "{\"email\":\"bench-$RUN_ID-$i@bench.example\",\"password\":\"bench-pass-$RUN_ID-$i\",\"full_name\":\"Bench User $i\"}" \
    "$BASE_URL/api/auth/register")
  if [ "${out##*$'\n'}" != 201 ]; then echo "register $i: HTTP ${out##*$'\n'}: ${out%$'\n'*}" >&2; return 1; fi
  local tok id
  tok=$(grep -o '"ft_token":"[^"]*"' <<<"$out" | cut -d'"' -f4)
  id=$(grep -o '"user":{[^}]*' <<<"$out" | grep -o '"id":"[^"]*"' | cut -d'"' -f4)
  if [ -z "$tok" ] || [ -z "$id" ]; then echo "register $i: no ft_token or user.id in the reply" >&2; return 1; fi
  echo "$id $tok" >"$TMP/seed/$i.user"
}
# post_txn I BODY: POST /api/transactions/ as user I; prints "<status> <body>".
post_txn() {
  local i=$1 body=$2 tok out
  tok=$(cut -d' ' -f2 "$TMP/seed/$i.user")
  out=$(curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' \
    -H "Idempotency-Key: seed-$RUN_ID-$i" -H @- -d "$body" "$BASE_URL/api/transactions/" \
    <<<"Authorization: Bearer $tok")
  echo "${out##*$'\n'} ${out%$'\n'*}"
}
# deposit I: 1,000,000.00 into user I's default account (opens it); fails unless 201.
deposit() {
  local r; r=$(post_txn "$1" '{"type":"deposit","amount":"1000000.00"}')
  [ "${r%% *}" = 201 ] || { echo "deposit $1: HTTP ${r:0:300}" >&2; return 1; }
}

# CPU ticks (user + system) a process has used so far.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# PostgreSQL's CPU ticks: the postmaster's own and its reaped children's, plus every live child.
pg_ticks() {
  local own kids
  own=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$PM/stat")
  kids=$({ cat /proc/[0-9]*/stat 2>/dev/null || true; } |
    awk -v pm="$PM" '$2 == "(postgres)" && $4 == pm { s += $14 + $15 } END { print s + 0 }')
  echo $((own + kids))
}
ms() {   # wrk's latency ("812.00us", "10.5ms", "1.2s") in ms
  awk '{ v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /[0-9]s$/) v *= 1000; printf "%.2f", v }' <<<"$1"
}
