import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Served by the gateway (deploy/local/gateway.py) or the Ingress under /portal/; `npm run dev` proxies the
// APIs to the local gateway so the browser still sees one origin.
export default defineConfig({
  base: "/portal/",
  plugins: [react()],
  server: { proxy: { "/api": "http://127.0.0.1:8000", "/auth": "http://127.0.0.1:8000" } },
  build: { outDir: "dist", emptyOutDir: true },
});
