// The last line against a blank page: a render error shows a card with a way back instead.
import { Component, type ReactNode } from "react";

export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidCatch(error: Error) {
    console.error("FinTwin page error:", error);
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="auth-wrap">
        <div className="card auth-card" role="alert" data-testid="page-error">
          <h1>Something went wrong</h1>
          <p className="muted">This page could not be shown. Your money and data are safe; reloading usually helps.</p>
          <div className="row">
            <button className="btn" onClick={() => window.location.reload()}>
              Reload
            </button>
            <a className="btn secondary" href="/">
              Dashboard
            </a>
          </div>
        </div>
      </div>
    );
  }
}
