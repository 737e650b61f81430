import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { VitePWA } from "vite-plugin-pwa";

// Served by the gateway (deploy/local/gateway.py) or the Ingress under /tech/. The service worker (Workbox,
// generated at build time from the built files, nothing fetched at run time) precaches the whole app so it opens
// with no signal; its scope is /tech/. The day and the command queue live in IndexedDB (src/store.ts), not in
// the worker's caches: the app decides what a technician sees offline, and API calls always go to the network.
export default defineConfig({
  base: "/tech/",
  plugins: [
    react(),
    VitePWA({
      injectRegister: null, // registered in main.tsx, after the first render
      registerType: "autoUpdate",
      scope: "/tech/",
      filename: "sw.js",
      manifestFilename: "manifest.webmanifest",
      includeAssets: ["icons/*.png"],
      manifest: {
        id: "/tech/",
        name: "Fieldline — technician",
        short_name: "Fieldline",
        description: "The technician's day: stops, statuses, reports — with or without signal",
        start_url: "/tech/",
        scope: "/tech/",
        display: "standalone",
        orientation: "portrait",
        background_color: "#ffffff",
        theme_color: "#0b3d91",
        lang: "ru",
        icons: [
          { src: "icons/icon-192.png", sizes: "192x192", type: "image/png" },
          { src: "icons/icon-512.png", sizes: "512x512", type: "image/png" },
          { src: "icons/icon-512-maskable.png", sizes: "512x512", type: "image/png", purpose: "maskable" },
        ],
      },
      workbox: {
        globPatterns: ["**/*.{js,css,html,png,svg,webmanifest}"],
        navigateFallback: "/tech/index.html",
        navigateFallbackAllowlist: [/^\/tech\//],
        navigateFallbackDenylist: [/^\/api\//, /^\/auth\//],
        cleanupOutdatedCaches: true,
        clientsClaim: true,
        skipWaiting: true,
      },
    }),
  ],
  server: { proxy: { "/api": "http://127.0.0.1:8000", "/auth": "http://127.0.0.1:8000" } },
  build: { outDir: "dist", emptyOutDir: true },
});
