// Balance over time for one account: each posting's balance_after as a step line (Recharts,
// SVG). Plot positions are numbers (chartValue); every label and tooltip is the exact string.
import { Area, AreaChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { chartValue, formatMoney, type Money } from "../lib/money";
import { shortDate, dateTime } from "../lib/format";

export interface BalancePoint {
  at: string;
  balance: Money;
}

function compact(v: number, currency: string): string {
  const abs = Math.abs(v);
  const one = (x: number) => x.toFixed(1).replace(/\.0$/, "");
  const s = abs >= 1e9 ? `${one(v / 1e9)}B` : abs >= 1e6 ? `${one(v / 1e6)}M` : abs >= 1e3 ? `${one(v / 1e3)}k` : String(Math.round(v));
  return `${formatMoney("0", currency).replace(/[\d.,]+$/, "")}${s}`;
}

export default function BalanceChart({ points, currency }: { points: BalancePoint[]; currency: string }) {
  const data = points.map((p) => ({ t: Date.parse(p.at), y: chartValue(p.balance, currency), label: formatMoney(p.balance, currency), at: p.at }));
  return (
    <div className="chart-box" data-testid="balance-chart">
      <ResponsiveContainer width="100%" height="100%">
        <AreaChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
          <defs>
            <linearGradient id="balFill" x1="0" x2="0" y1="0" y2="1">
              <stop offset="0%" stopColor="var(--blue)" stopOpacity={0.25} />
              <stop offset="100%" stopColor="var(--blue)" stopOpacity={0} />
            </linearGradient>
          </defs>
          <CartesianGrid stroke="var(--border)" vertical={false} />
          <XAxis dataKey="t" type="number" scale="time" domain={["dataMin", "dataMax"]} tickFormatter={(t: number) => shortDate(new Date(t).toISOString())} stroke="var(--text-3)" fontSize={12} />
          <YAxis tickFormatter={(v: number) => compact(v, currency)} stroke="var(--text-3)" fontSize={12} width={64} />
          <Tooltip
            contentStyle={{ background: "var(--surface)", border: "1px solid var(--border)", borderRadius: 6, color: "var(--text)" }}
            labelFormatter={(_, p) => (p?.[0]?.payload ? dateTime(p[0].payload.at as string) : "")}
            formatter={(_v, _n, p) => [p.payload.label as string, "Balance"]}
          />
          <Area type="stepAfter" dataKey="y" stroke="var(--blue)" strokeWidth={2} fill="url(#balFill)" isAnimationActive={false} />
        </AreaChart>
      </ResponsiveContainer>
    </div>
  );
}
