// API shapes the app reads (docs/api.md is the full list). Money fields are exact decimal
// strings (money.ts): api.ts keeps the digits the server printed.
import type { Money } from "./money";

export interface Account {
  id: string;
  name: string;
  kind: string;
  currency: string;
  balance: Money;
  created_at: string;
}

export interface Txn {
  id: string;
  account_id: string;
  type: "deposit" | "withdrawal" | "transfer";
  amount: Money;
  currency: string;
  to_account: string | null;
  to_user_id: string | null;
  to_account_id: string | null;
  from_user_id: string | null;
  note: string | null;
  category?: string | null;
  direction: "in" | "out";
  balance_after: Money;
  created_at: string;
}

export interface Notification {
  id: string;
  account_id: string | null;
  title: string;
  message: string;
  type: "info" | "alert" | "risk";
  is_read: boolean;
  created_at: string;
}

export interface NotificationCount {
  total: number;
  unread: number;
}

export interface Simulation {
  id: string;
  account_id: string | null;
  scenario: string;
  amount: Money;
  currency: string;
  current_balance: Money;
  virtual_balance: Money;
  difference?: Money;
  before_balance?: Money;
  after_balance?: Money;
  risk_score: number;
  alert_level: "low" | "medium" | "high";
  flags: string[];
  recommendation: string;
  months_covered?: number | null;
  created_at: string;
}

export interface WorkerStatus {
  name: string;
  ok: boolean;
  ms?: number;
}

export interface Status {
  workers: WorkerStatus[];
  broker: { ok: boolean };
  redis: { ok: boolean; denylist?: string };
  ok: boolean;
}

export interface PublicConfig {
  google_client_id: string | null;
  google_enabled: boolean;
}

/** A flag of a risk score: its code, the plain sentence (the same as in `flags`), its points. */
export interface RiskFlag {
  code: string;
  message: string;
  points?: number;
}

export type RiskLevel = "low" | "medium" | "high";

/** How the anomaly model looked at the latest posting (contract, issue 22). */
export interface RiskMl {
  method: "isolation_forest" | "robust_z" | "none" | string;
  anomaly_score?: number | null;
  threshold?: number | null;
  anomalous?: boolean;
  postings_used?: number;
  verdict?: "high_amount" | "normal" | string;
}

/** GET /api/risk/score/{id}, POST /api/risk/analyze. */
export interface RiskScore {
  id: string;
  account_id: string;
  score: number;
  alert_level: RiskLevel;
  flags: string[];
  flag_details?: RiskFlag[];
  ml_details?: RiskMl | null;
  currency?: string;
  balance?: Money;
  transfer_id?: string | null;
  updated_at: string;
}

/** One scored posting of GET /api/risk/history, newest first. */
export interface RiskHistoryItem {
  id: string;
  account_id: string;
  transfer_id: string | null;
  type: "withdrawal" | "deposit" | "transfer";
  direction: "in" | "out";
  amount: Money;
  currency: string;
  balance_before?: Money;
  balance_after?: Money;
  score: number;
  alert_level: RiskLevel;
  flags: string[];
  flag_details?: RiskFlag[];
  anomaly?: { method: string; score: number | null; threshold: number | null; flagged: boolean } | null;
  alerted?: boolean;
  posted_at: string;
  created_at: string;
}
