// Vite build of the SPA. The gateway serves web/dist: /assets/* (content-hashed names) with
// a year-long immutable cache, index.html with no-cache. `npm run dev` proxies /api (HTTP and
// the /api/ws WebSocket) to a running gateway (FT_GATEWAY, default http://127.0.0.1:8080).
import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

const gateway = process.env.FT_GATEWAY || "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 800 },
  server: { host: "127.0.0.1", proxy: { "/api": { target: gateway, ws: true } } },
  test: { environment: "node", include: ["src/**/*.test.ts", "src/**/*.test.tsx"] },
});
