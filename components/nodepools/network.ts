/** Address plan for the VPC (pure): one public and one private subnet per availability zone. */

/** Splits a /16 into /20 subnets: private ones first (large, for pods), then public ones. */
export function subnetCidrs(vpcCidr: string, zones: number): { private: string[]; public: string[] } {
  const [a, b] = vpcCidr.split(".") as [string, string];
  const block = (i: number) => `${a}.${b}.${i * 16}.0/20`;
  return {
    private: Array.from({ length: zones }, (_, i) => block(i)),
    public: Array.from({ length: zones }, (_, i) => block(8 + i)),
  };
}

/** Tags on every AWS resource the program creates. */
export const awsTags = (name: string) => ({ Name: name, "matrix-scale/managed-by": "pulumi" });

/** StorageClasses per pool: gp3 for SSD/NVMe roles, st1 (throughput HDD) for MinIO drives. */
export function storageClassParameters(volumeType: "gp3" | "st1"): Record<string, string> {
  return volumeType === "gp3" ? { type: "gp3", encrypted: "true", fsType: "ext4" } : { type: "st1", encrypted: "true", fsType: "xfs" };
}

/** Call-host ports the security group opens to the internet, and nothing else. */
export function callHostIngress(turnPort: number, livekitTcp: number, relay: { min: number; max: number }, rtc: { min: number; max: number }) {
  return [
    { protocol: "udp", fromPort: turnPort, toPort: turnPort, description: "TURN/STUN" },
    { protocol: "tcp", fromPort: turnPort, toPort: turnPort, description: "TURN over TCP" },
    { protocol: "udp", fromPort: relay.min, toPort: relay.max, description: "TURN relays" },
    { protocol: "udp", fromPort: rtc.min, toPort: rtc.max, description: "LiveKit RTC (UDP)" },
    { protocol: "tcp", fromPort: livekitTcp, toPort: livekitTcp, description: "LiveKit RTC (TCP fallback)" },
  ];
}
