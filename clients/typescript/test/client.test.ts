/**
 * The TypeScript client against a real server: `python -m zanepool_server` on a free port of
 * 127.0.0.1, with the test bed's MongoDB-compatible store, registering the test bed's swarm.
 *
 * The test bed comes from the environment (ZANEPOOL_TB_MONGODB_URI, ZANEPOOL_TB_DOCKER_UNIX) or
 * its env file (`make testbed-up`); PYTHON names the interpreter (default: the repo's .venv).
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { ConnectError } from "@connectrpc/connect";

import {
  Code,
  DOMAIN,
  Driver,
  createZanePoolClient,
  listAll,
  richError,
  statusOf,
  type ZanePoolClient,
} from "../src/index.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

function testbed(): Record<string, string> {
  const file = resolve(process.env.ZANEPOOL_TESTBED_DIR ?? "/var/tmp/zanepool-testbed", "env");
  const values: Record<string, string> = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const match = /^(?:export\s+)?(ZANEPOOL_TB_\w+)=(.*)$/.exec(line.trim());
      if (match) values[match[1]] = match[2].replace(/^['"]|['"]$/g, "");
    }
  }
  const need = (name: string): string => {
    const value = process.env[name] ?? values[name];
    if (!value) throw new Error(`${name} is not set: start the test bed with make testbed-up`);
    return value;
  };
  return { mongo: need("ZANEPOOL_TB_MONGODB_URI"), docker: need("ZANEPOOL_TB_DOCKER_UNIX") };
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.once("error", fail);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? ok(address.port) : fail(new Error("no port"))));
    });
  });
}

let server: ChildProcess | undefined;
let client: ZanePoolClient;
let serverLog = "";
const bed = testbed();
const pool = "pools/ts";

before(async () => {
  const port = await freePort();
  const python = process.env.PYTHON ?? resolve(repo, ".venv/bin/python");
  const database = `zp_ts_${randomBytes(6).toString("hex")}`;
  const args = ["-m", "zanepool_server", "--listen", `127.0.0.1:${port}`, "--mongodb-uri", bed.mongo];
  server = spawn(python, [...args, "--database", database, "--monitor-interval", "60"], {
    cwd: repo,
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stdout?.on("data", (chunk: Buffer) => (serverLog += chunk.toString()));
  server.stderr?.on("data", (chunk: Buffer) => (serverLog += chunk.toString()));
  client = createZanePoolClient(`http://127.0.0.1:${port}`, { timeoutMs: 30_000 });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await client.pools.listPools({}, { timeoutMs: 1_000 });
      return;
    } catch (err) {
      if (server.exitCode !== null || Date.now() > deadline) {
        throw new Error(`the server did not start: ${String(err)}\n${serverLog}`);
      }
      await new Promise((ok) => setTimeout(ok, 100));
    }
  }
});

after(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((ok) => server?.once("exit", ok));
    server.kill("SIGTERM");
    await exited;
  }
});

test("registers the test bed's swarm and lists it and its nodes", async () => {
  const registered = await client.pools.registerPool({
    poolId: "ts",
    pool: { driver: Driver.SWARM, endpoint: bed.docker, displayName: "TypeScript", labels: { env: "ts" } },
  });
  assert.equal(registered.pool?.name, pool);
  assert.ok(registered.pool?.uid && registered.pool.etag && registered.pool.clusterId);

  const pools = [];
  for await (const p of listAll(client.pools.listPools, { pageSize: 1 }, (page) => page.pools)) {
    pools.push(p);
  }
  assert.deepEqual(
    pools.map((p) => [p.name, p.displayName, p.labels]),
    [[pool, "TypeScript", { env: "ts" }]],
  );

  const nodes = await client.nodes.listNodes({ parent: pool });
  assert.ok(nodes.nodes.length >= 1);
  for (const node of nodes.nodes) {
    assert.match(node.name, /^pools\/ts\/nodes\/\w+$/);
    assert.ok(node.hostname && node.engineVersion);
  }
});

test("a failed call carries its code and ErrorInfo in grpc-status-details-bin", async () => {
  const err = await client.pools.getPool({ name: "pools/nope" }).catch((e: unknown) => e);
  assert.ok(err instanceof ConnectError);
  assert.equal(err.code, Code.NotFound);
  const status = statusOf(err);
  assert.equal(status?.code, 5);
  const rich = richError(err);
  assert.equal(rich.errorInfo?.reason, "POOL_NOT_FOUND");
  assert.equal(rich.errorInfo?.domain, DOMAIN);
  assert.deepEqual(rich.errorInfo?.metadata, { pool: "pools/nope" });

  const bad = await client.pools
    .registerPool({ poolId: "Not_An_Id", pool: { driver: Driver.SWARM, endpoint: bed.docker } })
    .catch((e: unknown) => e);
  const violations = richError(bad);
  assert.equal(violations.code, Code.InvalidArgument);
  assert.deepEqual(
    violations.fieldViolations.map((v) => v.field),
    ["pool_id"],
  );
});

test("reads StreamLogs: UNIMPLEMENTED with its precise error, or a container's lines", async () => {
  const lines: string[] = [];
  try {
    for await (const message of client.logs.streamLogs({ parent: pool, tailLines: 1 })) {
      if (message.payload.case === "entry") lines.push(message.payload.value.line);
    }
  } catch (err) {
    assert.ok(err instanceof ConnectError, String(err));
    assert.equal(err.code, 12, `${err.message}; the server said:\n${serverLog.slice(-3000)}`); // UNIMPLEMENTED
    const rich = richError(err);
    assert.equal(rich.errorInfo?.reason, "NOT_IMPLEMENTED_YET");
    assert.equal(rich.errorInfo?.domain, DOMAIN);
    assert.equal(rich.errorInfo?.metadata.rpc, "zanepool.v1.LogService/StreamLogs");
    return;
  }
  // StreamLogs is built: a container that writes two lines, read back through the API.
  const made = await client.containers.createContainer({
    parent: pool,
    containerId: `ts-logs-${randomBytes(4).toString("hex")}`,
    container: { image: "local/busybox:1", command: ["sh", "-c", "echo one; echo two"], restartPolicy: "no" },
  });
  const name = made.container?.name ?? "";
  try {
    const deadline = Date.now() + 20_000;
    while (lines.length < 2 && Date.now() < deadline) {
      lines.length = 0;
      for await (const message of client.logs.streamLogs({ parent: name })) {
        if (message.payload.case === "entry") lines.push(message.payload.value.line);
      }
      if (lines.length < 2) await new Promise((ok) => setTimeout(ok, 200));
    }
    assert.deepEqual(lines, ["one", "two"]);
  } finally {
    await client.containers.deleteContainer({ name, force: true }).catch(() => undefined);
  }
});
