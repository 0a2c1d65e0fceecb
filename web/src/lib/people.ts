// People's display names by user id, for the rows of a transaction list: the API's
// transactions carry only ids (to_user_id, from_user_id). GET /api/users/lookup?id= answers
// {id, full_name}; every lookup counts against the caller's AUTH_LOOKUP_PER_MIN (30 a
// minute), so each person is asked once per page load, shared by every list through the
// query cache (key ["user-name", id], never stale, never dropped), and a name found by email
// in the transfer form is put there too. Until a name arrives, or when the lookup fails
// (404, 429), rows show the short id: a name never holds up a list.
import { useMemo } from "react";
import { useQueries, type QueryClient } from "@tanstack/react-query";
import { api } from "./api";

interface LookupAnswer {
  id: string;
  full_name: string;
}

/** The cache key of a person's name; `id` lowercase. */
export function personKey(id: string) {
  return ["user-name", id.toLowerCase()] as const;
}

/** Remembers a name the app learned otherwise (a lookup by email), so no lookup by id follows. */
export function rememberPerson(qc: QueryClient, id: string, fullName: string): void {
  qc.setQueryData(personKey(id), fullName);
}

/** The names found so far, as `Names.people`: ids whose lookup has not answered, or failed, are left out. */
export function peopleFound(ids: readonly string[], found: readonly (string | undefined)[]): Map<string, string> {
  const m = new Map<string, string>();
  ids.forEach((id, i) => {
    const name = found[i];
    if (name) m.set(id.toLowerCase(), name);
  });
  return m;
}

/** user id → full name for the given distinct lowercase ids (TxnLogic.counterparties), as they arrive. */
export function usePeople(ids: readonly string[]): ReadonlyMap<string, string> {
  const found = useQueries({
    queries: ids.map((id) => ({
      queryKey: personKey(id),
      queryFn: ({ signal }: { signal: AbortSignal }) =>
        api.get<LookupAnswer>(`/api/users/lookup?id=${encodeURIComponent(id)}`, { signal }).then((u) => u.full_name),
      // A name does not change while the page is open: asking again (on focus, or after the
      // lists were left for a while) would only spend the lookup limit.
      staleTime: Infinity,
      gcTime: Infinity,
      refetchOnWindowFocus: false,
    })),
    // Structurally shared by TanStack Query: the same array while no name changed.
    combine: (results) => results.map((r) => r.data),
  });
  return useMemo(() => peopleFound(ids, found), [ids, found]);
}
