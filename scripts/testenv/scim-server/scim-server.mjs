// Launcher only: all SCIM behaviour comes from @better-auth/scim (pinned in
// package-lock.json). POST /__reset is a test hook, not SCIM: it empties the
// in-memory store between tests.
import http from "node:http";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { toNodeHandler } from "better-auth/node";
import { scim } from "@better-auth/scim";

const host = process.env.SCIM_HOST || "127.0.0.1";
const port = Number(process.env.SCIM_PORT || 8880);
const token = process.env.SCIM_TOKEN || "test-token";
if (!/^(127\.|localhost$|::1$)/.test(host)) throw new Error("loopback only: " + host);

const db = {};
const auth = betterAuth({
  baseURL: `http://${host}:${port}`,
  basePath: "/api/auth",
  secret: "scim-test-server-not-a-secret-0123456789",
  database: memoryAdapter(db),
  telemetry: { enabled: false },
  logger: { level: process.env.SCIM_LOG_LEVEL || "warn" },
  rateLimit: { enabled: process.env.SCIM_RATE_LIMIT === "1" },
  plugins: [scim({
    connections: [{ id: "test", credentials: [{ type: "bearer", id: "test-cred", token }] }],
    compatibility: { microsoftEntra: { acceptLegacyGroupSchema: true } },
  })],
});
const ctx = await auth.$context;
const reset = () => { for (const t of Object.values(ctx.tables)) db[t.modelName] = []; };
reset();
const handler = toNodeHandler(auth);
const server = http.createServer((req, res) => {
  if (req.url === "/__reset" && req.method === "POST") {
    if (req.headers.authorization !== `Bearer ${token}`) { res.writeHead(401).end(); return; }
    reset(); res.writeHead(204).end(); return;
  }
  handler(req, res);
});
server.listen(port, host, () =>
  console.log(`listening http://${host}:${port}/api/auth/scim/v2 pid ${process.pid}`));
const stop = () => { server.close(() => process.exit(0)); server.closeAllConnections(); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
