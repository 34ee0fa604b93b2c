import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Vitest global setup: every test, and every process a test starts, writes its temporary files under
 * one directory per run, removed when the run ends. A run leaves nothing in the system's temporary
 * directory: the engine tests write about half a gigabyte of projects and preview documents, and the
 * Kubernetes provider a kubeconfig file per stack, which accumulated until the disk was full.
 */
export default function useRunTempDir(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "ms-test-"));
  // Like /tmp: servers the tests run as another user (PostgreSQL and its archive commands) write here too.
  chmodSync(dir, 0o1777);
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
