// Routes and guards: signed out → /signin; signed in without a complete profile → /onboarding.
import { lazy, Suspense, type ReactNode } from "react";
import { Navigate, Route, Routes, useLocation } from "react-router-dom";
import { AuthProvider, useAuth } from "./lib/auth";
import { LiveProvider } from "./lib/LiveProvider";
import { ToastProvider } from "./components/Toasts";
import { Layout } from "./components/Layout";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { ComingSoon, Loading } from "./components/common";
import { SignIn } from "./pages/SignIn";
import { Onboarding } from "./pages/Onboarding";
import { Dashboard } from "./pages/Dashboard";
import { Transactions } from "./pages/Transactions";
import { Notifications } from "./pages/Notifications";

// The twin and risk pages carry charts: each loaded when first opened.
const Twin = lazy(() => import("./pages/Twin").then((m) => ({ default: m.Twin })));
const Risk = lazy(() => import("./pages/Risk").then((m) => ({ default: m.Risk })));

function Guard({ children }: { children: ReactNode }) {
  const { user } = useAuth();
  const loc = useLocation();
  if (!user) return <Navigate to="/signin" replace state={{ from: loc.pathname }} />;
  if (!user.is_profile_complete) return <Navigate to="/onboarding" replace />;
  return <Layout>{children}</Layout>;
}

function Shell() {
  const { user } = useAuth();
  return (
    <LiveProvider signedIn={!!user}>
      <Routes>
        <Route path="/signin" element={user ? <Navigate to={user.is_profile_complete ? "/" : "/onboarding"} replace /> : <SignIn />} />
        <Route path="/onboarding" element={!user ? <Navigate to="/signin" replace /> : user.is_profile_complete ? <Navigate to="/" replace /> : <Onboarding />} />
        <Route path="/" element={<Guard><Dashboard /></Guard>} />
        <Route path="/transactions" element={<Guard><Transactions /></Guard>} />
        <Route
          path="/twin"
          element={
            <Guard>
              <Suspense fallback={<Loading />}>
                <Twin />
              </Suspense>
            </Guard>
          }
        />
        <Route path="/notifications" element={<Guard><Notifications /></Guard>} />
        <Route
          path="/risk"
          element={
            <Guard>
              <Suspense fallback={<Loading />}>
                <Risk />
              </Suspense>
            </Guard>
          }
        />
        <Route path="/wealth" element={<Guard><ComingSoon title="Wealth" issue="net worth, holdings and linked accounts arrive with the Wealth issue" /></Guard>} />
        <Route path="/budgets" element={<Guard><ComingSoon title="Budgets" issue="budgets arrive with the categories and budgets issue" /></Guard>} />
        <Route path="*" element={<Guard><div className="card"><h2>Page not found</h2><p className="muted">There is nothing at this address.</p></div></Guard>} />
      </Routes>
    </LiveProvider>
  );
}

export function App() {
  return (
    <ErrorBoundary>
      <ToastProvider>
        <AuthProvider>
          <Shell />
        </AuthProvider>
      </ToastProvider>
    </ErrorBoundary>
  );
}
