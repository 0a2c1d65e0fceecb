// The projection's fan chart (Recharts, SVG): the Monte Carlo p5–p95 and p25–p75 bands as
// ranged areas, the median path, the deterministic balance and its inflation-adjusted twin,
// the goal as a horizontal reference line and zero when a path goes below it. Coordinates are
// numbers (chartValue); the tooltip shows the exact amounts the API printed.
import { Area, CartesianGrid, ComposedChart, Line, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis, type TooltipContentProps } from "recharts";
import { formatMoney, type Money } from "../lib/money";
import { compactMoney, monthLabel, monthTicks, monthTitle, type ChartRow } from "../pages/TwinModel";

export interface FanChartProps {
  rows: ChartRow[];
  currency: string;
  horizon: number;
  goal: { value: number; text: Money } | null;
  monteCarlo: boolean;
}

const band95 = (r: ChartRow) => (r.p5 === undefined || r.p95 === undefined ? null : [r.p5, r.p95]);
const band50 = (r: ChartRow) => (r.p25 === undefined || r.p75 === undefined ? null : [r.p25, r.p75]);

function FanTooltip({ active, payload, currency, monteCarlo }: TooltipContentProps<number, string> & { currency: string; monteCarlo: boolean }) {
  const row = active && payload?.length ? (payload[0].payload as ChartRow) : null;
  if (!row) return null;
  const e = row.exact;
  const line = (label: string, v: Money | undefined, swatch: string) =>
    v === undefined ? null : (
      <div className="twin-tip-row">
        <span className={`twin-swatch ${swatch}`} aria-hidden="true" />
        <span>{label}</span>
        <span className="amount">{formatMoney(v, currency)}</span>
      </div>
    );
  return (
    <div className="twin-tip">
      <div className="twin-tip-title">{monthTitle(row.month)}</div>
      {monteCarlo && line("95th percentile", e.p95, "band95")}
      {monteCarlo && line("75th percentile", e.p75, "band50")}
      {monteCarlo && line("Median", e.p50, "median")}
      {monteCarlo && line("25th percentile", e.p25, "band50")}
      {monteCarlo && line("5th percentile", e.p5, "band95")}
      {line("Expected balance", e.balance, "expected")}
      {line("In today's money", e.real, "real")}
    </div>
  );
}

export function TwinFanChart({ rows, currency, horizon, goal, monteCarlo }: FanChartProps) {
  const ticks = monthTicks(horizon);
  const min = Math.min(...rows.map((r) => Math.min(r.balance, r.real, r.p5 ?? Infinity)));
  return (
    <div className="twin-chart">
      <div className="chart-box tall" data-testid="projection-chart" role="img" aria-label={`Projected balance over ${horizon} months${monteCarlo ? ", with Monte Carlo percentile bands" : ""}`}>
        <ResponsiveContainer width="100%" height="100%">
          <ComposedChart data={rows} margin={{ top: 20, right: 16, bottom: 0, left: 4 }}>
            <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" vertical={false} />
            <XAxis
              dataKey="month"
              type="number"
              domain={[0, horizon]}
              ticks={ticks}
              tickFormatter={(m: number) => monthLabel(m, horizon)}
              stroke="var(--border)"
              tick={{ fill: "var(--text-2)", fontSize: 12 }}
              tickLine={false}
            />
            <YAxis
              tickFormatter={(v: number) => compactMoney(v, currency)}
              stroke="var(--border)"
              tick={{ fill: "var(--text-2)", fontSize: 12 }}
              tickLine={false}
              axisLine={false}
              width={64}
              domain={["auto", "auto"]}
            />
            <Tooltip content={(p) => <FanTooltip {...(p as TooltipContentProps<number, string>)} currency={currency} monteCarlo={monteCarlo} />} cursor={{ stroke: "var(--text-3)", strokeDasharray: "3 3" }} />
            {monteCarlo && (
              <Area dataKey={band95} name="5th–95th percentile" stroke="none" fill="var(--blue)" fillOpacity={0.18} isAnimationActive={false} activeDot={false} />
            )}
            {monteCarlo && (
              <Area dataKey={band50} name="25th–75th percentile" stroke="none" fill="var(--blue)" fillOpacity={0.34} isAnimationActive={false} activeDot={false} />
            )}
            {monteCarlo && <Line dataKey="p50" name="Median" stroke="var(--blue)" strokeWidth={2} dot={false} isAnimationActive={false} />}
            <Line dataKey="balance" name="Expected balance" stroke="var(--text)" strokeWidth={1.5} strokeDasharray="6 4" dot={false} isAnimationActive={false} />
            <Line dataKey="real" name="In today's money" stroke="var(--text-3)" strokeWidth={1.5} strokeDasharray="2 3" dot={false} isAnimationActive={false} />
            {min < 0 && <ReferenceLine y={0} stroke="var(--red)" strokeWidth={1} />}
            {goal && (
              <ReferenceLine
                y={goal.value}
                stroke="var(--green)"
                strokeDasharray="4 4"
                strokeWidth={1.5}
                ifOverflow="extendDomain"
                label={{ value: `Goal ${formatMoney(goal.text, currency)}`, position: "insideBottomLeft", fill: "var(--green)", fontSize: 12 }}
              />
            )}
          </ComposedChart>
        </ResponsiveContainer>
      </div>
      <ul className="twin-legend" aria-label="Chart legend">
        {monteCarlo && (
          <li>
            <span className="twin-swatch band95" aria-hidden="true" />5th–95th percentile
          </li>
        )}
        {monteCarlo && (
          <li>
            <span className="twin-swatch band50" aria-hidden="true" />25th–75th percentile
          </li>
        )}
        {monteCarlo && (
          <li>
            <span className="twin-swatch median" aria-hidden="true" />Median
          </li>
        )}
        <li>
          <span className="twin-swatch expected" aria-hidden="true" />Expected balance
        </li>
        <li>
          <span className="twin-swatch real" aria-hidden="true" />In today's money
        </li>
        {goal && (
          <li>
            <span className="twin-swatch goal" aria-hidden="true" />Goal
          </li>
        )}
      </ul>
    </div>
  );
}
