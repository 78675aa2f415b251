// Serves the example and passes /api to the Twofold server (TWOFOLD_URL, by default
// http://127.0.0.1:8080), as an application's reverse proxy would.
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  server: {
    proxy: { "/api": process.env.TWOFOLD_URL ?? "http://127.0.0.1:8080" },
  },
  esbuild: { jsx: "transform" },
});
