/** Images and versions, pinned in one place (versions.json, also read by the test installers). */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import versions from "../versions.json";

/** The Synapse image's build context, and the files of it the image is made from: the Dockerfile and every file it copies. */
export const SYNAPSE_IMAGE_CONTEXT = join(__dirname, "..", "images", "synapse");
export const SYNAPSE_IMAGE_FILES = ["Dockerfile", "matrix_scale_logging.py", "requirements.txt"] as const;
/** The module (in the image's site-packages) and class of the log formatter the rendered log configuration names. */
export const LOG_FORMATTER = "matrix_scale_logging.TracebackJsonFormatter";
/** The upstream Synapse release the project's image builds on (images/synapse/Dockerfile). */
export const UPSTREAM_SYNAPSE_IMAGE = `${versions.synapseImage}:v${versions.synapse}`;
/**
 * The Synapse image every process runs: the upstream release with the media provider and the log
 * formatter built in (pushed by .github/workflows/images.yml), tagged with the release and the hash
 * of the files it is made from, so a change to any of them names a new image.
 */
export const SYNAPSE_IMAGE = `${versions.synapseMediaImageRepository}:v${versions.synapse}-${filesHash(SYNAPSE_IMAGE_CONTEXT, SYNAPSE_IMAGE_FILES)}`;
export const HAPROXY_IMAGE = versions.haproxyImage;
export const CNPG_CHART_VERSION = versions.cnpgChart;
/** The Barman Cloud plugin's chart (plugin-barman-cloud 0.8.0 installs the plugin v0.15.0) and cert-manager's, which it requires. */
export const BARMAN_CLOUD_PLUGIN_CHART = versions.barmanCloudPluginChart;
export const CERT_MANAGER_CHART = versions.certManagerChart;
export const POSTGRES_IMAGE = versions.postgresImage;
export const REDIS_IMAGE = versions.redisImage;
/** MinIO built from the source the tests run (images/minio/Dockerfile, pushed by .github/workflows/images.yml). */
export const MINIO_IMAGE = `${versions.minioImageRepository}:${versions.minio}`;
/** The setup Job's mc, built from the module version the tests run (images/mc/Dockerfile, pushed by .github/workflows/images.yml). */
export const MC_IMAGE = `${versions.mcImageRepository}:${versions.mc}`;
export const LIVEKIT_IMAGE = versions.livekitImage;
export const LK_JWT_SERVICE_IMAGE = versions.lkJwtServiceImage;
export const COTURN_IMAGE = versions.coturnImage;
export const CURL_IMAGE = versions.curlImage;
export const KUBE_PROMETHEUS_STACK_CHART = versions.kubePrometheusStackChart;
export const LOKI_CHART = versions.lokiChart;
/**
 * The log agent: the OpenTelemetry Collector's Kubernetes distribution, at the release whose
 * components the tests build (scripts/otelcol, versions.json `otelcol`).
 */
export const LOG_AGENT_IMAGE = versions.logAgentImage;
/** The AWS Load Balancer Controller: since 3.0.0 the chart's version is the controller's. */
export const AWS_LOAD_BALANCER_CONTROLLER_CHART = versions.awsLoadBalancerControllerChart;
export const AWS_LOAD_BALANCER_CONTROLLER_VERSION = versions.awsLoadBalancerController;
/** Synapse's own Grafana dashboard, from the release the fleet runs (Grafana downloads it). */
export const SYNAPSE_DASHBOARD_URL = `https://raw.githubusercontent.com/element-hq/synapse/v${versions.synapse}/contrib/grafana/synapse.json`;
export const REDIS_EXPORTER_IMAGE = versions.redisExporterImage;

/** sha256 of the files concatenated in the order given, as `cat FILE… | sha256sum`; 12 hex digits. */
function filesHash(dir: string, files: readonly string[]): string {
  const hash = createHash("sha256");
  for (const file of files) hash.update(readFileSync(join(dir, file)));
  return hash.digest("hex").slice(0, 12);
}
