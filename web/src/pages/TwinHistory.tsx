// The twin's history: the 10 most recent simulations and projections, as they were answered,
// with delete per row and "Clear all" behind a confirmation.
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../lib/api";
import { dateTime } from "../lib/format";
import { formatMoney } from "../lib/money";
import { keys } from "../lib/queries";
import { Empty, ErrorBox, errorText, Loading } from "../components/common";
import { useToast } from "../components/Toasts";
import { historyRow, type HistoryItem } from "./TwinModel";

export function TwinHistory() {
  const qc = useQueryClient();
  const toast = useToast();
  const [confirming, setConfirming] = useState(false);
  const history = useQuery({
    queryKey: [...keys.simulations, "history"],
    queryFn: ({ signal }) => api.get<HistoryItem[]>("/api/simulate/history", { signal }),
  });

  const remove = useMutation({
    mutationFn: (id: string) => api.del<{ message: string }>(`/api/simulate/history/detail/${encodeURIComponent(id)}`),
    onSuccess: (r, id) => {
      qc.setQueryData<HistoryItem[]>([...keys.simulations, "history"], (old) => old?.filter((x) => x.id !== id));
      qc.invalidateQueries({ queryKey: keys.simulations });
      toast(r?.message || "Simulation deleted.", { kind: "ok" });
    },
    onError: (e) => toast(errorText(e), { kind: "error" }),
  });

  const clear = useMutation({
    mutationFn: () => api.del<{ message: string; deleted_count: number }>("/api/simulate/history"),
    onSuccess: (r) => {
      setConfirming(false);
      qc.setQueryData<HistoryItem[]>([...keys.simulations, "history"], []);
      qc.invalidateQueries({ queryKey: keys.simulations });
      toast(r?.message || "History cleared.", { kind: "ok" });
    },
  });

  const items = history.data ?? [];
  return (
    <section className="card twin-history" aria-labelledby="twin-history-title">
      <div className="row between" style={{ marginBottom: 8 }}>
        <div>
          <h2 id="twin-history-title" style={{ margin: 0 }}>
            History
          </h2>
          <div className="faint" style={{ fontSize: 13 }}>
            Your 10 most recent simulations and projections.
          </div>
        </div>
        {items.length > 0 && !confirming && (
          <button type="button" className="btn small secondary" onClick={() => setConfirming(true)}>
            Clear all
          </button>
        )}
      </div>
      {confirming && (
        <div className="alert-box warn twin-confirm" role="alertdialog" aria-labelledby="twin-clear-q">
          <span id="twin-clear-q">Delete all your saved simulations? This cannot be undone.</span>
          <div className="row" style={{ gap: 8 }}>
            <button type="button" className="btn small danger" onClick={() => clear.mutate()} disabled={clear.isPending} autoFocus>
              {clear.isPending ? "Clearing…" : "Yes, clear all"}
            </button>
            <button type="button" className="btn small secondary" onClick={() => setConfirming(false)} disabled={clear.isPending}>
              Cancel
            </button>
          </div>
          {clear.isError && <div role="alert">{errorText(clear.error)}</div>}
        </div>
      )}
      {history.isPending ? (
        <Loading lines={3} label="Loading simulation history" />
      ) : history.isError ? (
        <ErrorBox error={history.error} onRetry={() => history.refetch()} />
      ) : items.length === 0 ? (
        <Empty>No simulations yet. Run a scenario or a projection and it will be listed here.</Empty>
      ) : (
        <div className="table-wrap">
          <table className="table twin-table">
            <thead>
              <tr>
                <th scope="col">Date</th>
                <th scope="col">Scenario</th>
                <th scope="col" className="num">
                  Amount
                </th>
                <th scope="col" className="num">
                  Before
                </th>
                <th scope="col" className="num">
                  After
                </th>
                <th scope="col" className="num">
                  Score
                </th>
                <th scope="col">Level</th>
                <th scope="col">
                  <span className="sr-only">Delete</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((it) => {
                const r = historyRow(it);
                const c = it.currency;
                const when = dateTime(it.created_at);
                return (
                  <tr key={it.id} data-testid="sim-history-row" data-kind={it.kind ?? "scenario"}>
                    <td className="twin-date" data-label="Date">{when}</td>
                    <td className="twin-what" data-label="Scenario">{r.what}</td>
                    <td className="num" data-label="Amount">{r.amount === null ? "—" : "percent" in r.amount ? r.amount.percent : formatMoney(r.amount.money, c)}</td>
                    <td className="num" data-label="Before">{formatMoney(r.before, c)}</td>
                    <td className={`num ${r.after?.startsWith("-") ? "neg" : ""}`} data-label="After">{formatMoney(r.after, c)}</td>
                    <td className="num" data-label="Score">{it.risk_score ?? "—"}</td>
                    <td data-label="Level">{it.alert_level ? <span className={`pill ${it.alert_level}`}>{it.alert_level}</span> : <span className="faint">—</span>}</td>
                    <td className="twin-del">
                      <button
                        type="button"
                        className="btn ghost small"
                        aria-label={`Delete simulation from ${when}`}
                        title="Delete"
                        onClick={() => remove.mutate(it.id)}
                        disabled={remove.isPending && remove.variables === it.id}
                      >
                        ✕
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
