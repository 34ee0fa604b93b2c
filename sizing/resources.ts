import type { Capacity } from "./packing";
import type { Resources } from "./types";

/** Requests equal limits: Guaranteed QoS, so what the N-1 check counts is what the kubelet reserves. */
export function guaranteed(size: Capacity): Resources {
  return { requests: { ...size }, limits: { ...size } };
}

/** A copy of a constant's requests and limits (plans are plain data the caller may change). */
export function resourcesOf(size: { requests: Capacity; limits: Capacity }): Resources {
  return { requests: { ...size.requests }, limits: { ...size.limits } };
}

/** A one-per-node workload gets its seed size, capped by what the node leaves allocatable. */
export function cappedToNode(size: Capacity, allocatable: Capacity): Resources {
  return guaranteed({
    vcpu: Math.min(size.vcpu, floorTo(allocatable.vcpu, 0.1)),
    memoryGiB: Math.min(size.memoryGiB, floorTo(allocatable.memoryGiB, 0.25)),
  });
}

export function floorTo(n: number, step: number): number {
  return Math.round(Math.floor(n / step + 1e-9) * step * 1000) / 1000;
}

export function ceilTo(n: number, step: number): number {
  return Math.ceil(n / step - 1e-9) * step;
}
