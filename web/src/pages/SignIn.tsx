// Sign in / sign up: email + password, the API's messages next to the field they concern,
// and Google's button when the server has a client id (GET /api/config).
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, ApiError } from "../lib/api";
import { useAuth } from "../lib/auth";
import type { PublicConfig } from "../lib/types";
import { Field, errorText } from "../components/common";
import { ThemeToggle } from "../components/ThemeToggle";

type Mode = "signin" | "signup";
type Errors = Partial<Record<"full_name" | "email" | "password" | "form", string>>;

/** Which field an auth error concerns (codes from the auth worker). */
export function authErrorField(code: string): keyof Errors {
  if (code === "invalid_email" || code === "email_taken" || code === "email_exists") return "email";
  if (code === "invalid_password" || code === "weak_password") return "password";
  if (code === "invalid_full_name") return "full_name";
  return "form";
}

export function SignIn() {
  const { signIn, signUp } = useAuth();
  const [mode, setMode] = useState<Mode>("signin");
  const [fullName, setFullName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const config = useQuery({ queryKey: ["config"], queryFn: () => api.get<PublicConfig>("/api/config", { public: true }), retry: false });

  async function submit(e: FormEvent) {
    e.preventDefault();
    const local: Errors = {};
    if (mode === "signup" && !fullName.trim()) local.full_name = "Enter your name.";
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim())) local.email = "Enter a valid email address.";
    if (!password) local.password = "Enter your password.";
    else if (mode === "signup" && password.length < 8) local.password = "Use at least 8 characters.";
    setErrors(local);
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      if (mode === "signin") await signIn(email.trim(), password);
      else await signUp(fullName.trim(), email.trim(), password);
    } catch (err) {
      const field = err instanceof ApiError ? authErrorField(err.code) : "form";
      setErrors({ [field]: errorText(err) });
    } finally {
      setBusy(false);
    }
  }

  const signup = mode === "signup";
  return (
    <div className="auth-wrap">
      <div className="top-right" style={{ position: "fixed", top: 12, right: 12 }}>
        <ThemeToggle />
      </div>
      <div className="card auth-card">
        <div className="logo" style={{ marginBottom: 12 }}>
          <span className="logo-mark">F</span> FinTwin
        </div>
        <h1>Welcome to FinTwin</h1>
        <ul className="points">
          <li>◐ What-if simulations on a digital twin of your money</li>
          <li>⚠ Risk analysis and alerts as transactions happen</li>
          <li>★ A financial persona score with tips</li>
        </ul>
        <div className="seg" role="tablist" aria-label="Sign in or sign up" style={{ marginBottom: 16 }}>
          <button role="tab" aria-selected={!signup} onClick={() => { setMode("signin"); setErrors({}); }}>
            Sign in
          </button>
          <button role="tab" aria-selected={signup} onClick={() => { setMode("signup"); setErrors({}); }}>
            Create account
          </button>
        </div>
        <form className="form" onSubmit={submit} noValidate>
          {signup && (
            <Field id="full_name" label="Full name" error={errors.full_name}>
              <input id="full_name" autoComplete="name" value={fullName} onChange={(e) => setFullName(e.target.value)} aria-invalid={!!errors.full_name} maxLength={100} />
            </Field>
          )}
          <Field id="email" label="Email" error={errors.email}>
            <input id="email" type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} aria-invalid={!!errors.email} maxLength={254} />
          </Field>
          <Field id="password" label="Password" error={errors.password} hint={signup ? "At least 8 characters." : undefined}>
            <input id="password" type="password" autoComplete={signup ? "new-password" : "current-password"} value={password} onChange={(e) => setPassword(e.target.value)} aria-invalid={!!errors.password} maxLength={128} />
          </Field>
          {errors.form && (
            <div className="alert-box error" role="alert" data-testid="form-error">
              {errors.form}
            </div>
          )}
          <button className="btn" type="submit" disabled={busy}>
            {busy ? "Please wait…" : signup ? "Create account" : "Sign in"}
          </button>
        </form>
        {config.data?.google_enabled && config.data.google_client_id && <GoogleButton clientId={config.data.google_client_id} onError={(m) => setErrors({ form: m })} />}
      </div>
    </div>
  );
}

interface GoogleId {
  accounts: { id: { initialize: (o: object) => void; renderButton: (el: HTMLElement, o: object) => void } };
}

/** Google Identity Services' button; its ID token goes to POST /api/auth/google. */
function GoogleButton({ clientId, onError }: { clientId: string; onError: (m: string) => void }) {
  const { signInGoogle } = useAuth();
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const render = () => {
      const g = (window as unknown as { google?: GoogleId }).google;
      if (!g || !ref.current) return;
      g.accounts.id.initialize({
        client_id: clientId,
        callback: (r: { credential: string }) => signInGoogle(r.credential).catch((e) => onError(errorText(e))),
      });
      g.accounts.id.renderButton(ref.current, { theme: "outline", size: "large", width: 320 });
    };
    const s = document.createElement("script");
    s.src = "https://accounts.google.com/gsi/client";
    s.async = true;
    s.onload = render;
    s.onerror = () => onError("Google sign-in could not be loaded.");
    document.head.appendChild(s);
    return () => s.remove();
  }, [clientId, signInGoogle, onError]);
  return (
    <div style={{ marginTop: 16, display: "grid", placeItems: "center" }}>
      <div className="faint" style={{ fontSize: 12, marginBottom: 8 }}>or</div>
      <div ref={ref} data-testid="google-button" />
    </div>
  );
}
