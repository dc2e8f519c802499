import type { LabelSelector, ObjectMeta } from 'kubernetes-types/meta/v1.js';

/**
 * The Prometheus Operator's ServiceMonitor (monitoring.coreos.com/v1), as its CRD defines the
 * fields below; kubernetes-types covers built-in kinds only. Exact object types, so that a
 * misspelled field fails type checking as it does for the built-in kinds.
 */
export interface ServiceMonitor {
  apiVersion: 'monitoring.coreos.com/v1';
  kind: 'ServiceMonitor';
  metadata: ObjectMeta;
  spec: ServiceMonitorSpec;
}

export interface ServiceMonitorSpec {
  endpoints: Endpoint[];
  selector: LabelSelector;
  namespaceSelector?: { any?: boolean; matchNames?: string[] };
  jobLabel?: string;
  targetLabels?: string[];
  podTargetLabels?: string[];
  sampleLimit?: number;
  targetLimit?: number;
  attachMetadata?: { node?: boolean };
}

export interface Endpoint {
  port?: string;
  targetPort?: number | string;
  path?: string;
  scheme?: 'http' | 'https';
  params?: Record<string, string[]>;
  /** A Prometheus duration such as 30s. */
  interval?: string;
  scrapeTimeout?: string;
  honorLabels?: boolean;
  honorTimestamps?: boolean;
  trackTimestampsStaleness?: boolean;
  followRedirects?: boolean;
  enableHttp2?: boolean;
  filterRunning?: boolean;
  relabelings?: RelabelConfig[];
  metricRelabelings?: RelabelConfig[];
}

export interface RelabelConfig {
  action?: 'replace' | 'keep' | 'drop' | 'keepequal' | 'dropequal' | 'hashmod' | 'labelmap' | 'labeldrop' | 'labelkeep' | 'lowercase' | 'uppercase';
  sourceLabels?: string[];
  separator?: string;
  targetLabel?: string;
  regex?: string;
  modulus?: number;
  replacement?: string;
}
