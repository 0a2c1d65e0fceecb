// Toasts: short messages bottom-right, announced to screen readers, gone after 5 s.
import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from "react";

export type ToastKind = "info" | "ok" | "error" | "alert" | "risk";
interface Toast {
  id: number;
  kind: ToastKind;
  title?: string;
  text: string;
}
type Push = (text: string, opts?: { kind?: ToastKind; title?: string }) => void;

const Ctx = createContext<Push>(() => {});

export function useToast(): Push {
  return useContext(Ctx);
}

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const next = useRef(1);
  const push = useCallback<Push>((text, opts) => {
    const id = next.current++;
    setToasts((t) => [...t.slice(-4), { id, text, kind: opts?.kind ?? "info", title: opts?.title }]);
    window.setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), 5000);
  }, []);
  const value = useMemo(() => push, [push]);
  return (
    <Ctx.Provider value={value}>
      {children}
      <div className="toasts" role="status" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id} className={`toast ${t.kind}`} data-testid="toast">
            {t.title && <div className="t-title">{t.title}</div>}
            <div>{t.text}</div>
          </div>
        ))}
      </div>
    </Ctx.Provider>
  );
}
