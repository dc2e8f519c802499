import type { LibraryLoadAttempt } from '@app/ffi';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';

/** Why start-up was refused, machine-readable. */
export type StartupReason =
  | 'nvml_library_not_found'
  | 'nvml_driver_not_loaded'
  | 'nvml_version_mismatch'
  | 'nvml_init_failed'
  | 'no_gpu_visible'
  | 'visible_device_not_found'
  | 'gpu_unhealthy'
  | 'insufficient_gpu_count'
  | 'insufficient_gpu_memory'
  | 'gpu_memory_unknown'
  | 'insufficient_compute_capability'
  | 'cuda_library_not_found'
  | 'cuda_smoke_test_failed'
  | 'startup_timeout';

/** One unmet start-up requirement. */
export interface StartupProblem {
  reason: StartupReason;
  detail: string;
  gpu?: { index: number; uuid: string; name: string };
  /** NVML or CUDA return code, its symbolic name and the function that returned it. */
  code?: number;
  codeName?: string;
  fn?: string;
}

/** What an operator can do about each reason. */
export const STARTUP_HINTS: Readonly<Record<StartupReason, string>> = {
  nvml_library_not_found:
    'run the container with the NVIDIA runtime so libnvidia-ml.so.1 is injected (docker run --gpus, the compose GPU reservation, or a Kubernetes nvidia.com/gpu request; NVIDIA_VISIBLE_DEVICES=void disables injection), or set NVML_LIBRARY_PATH',
  nvml_driver_not_loaded: 'the NVIDIA kernel driver is not loaded on this host: check `nvidia-smi` and `lsmod | grep nvidia` on the host',
  nvml_version_mismatch:
    'the kernel driver and the user-space library differ (the driver was upgraded without a reboot): reboot the host or reload the nvidia kernel modules',
  nvml_init_failed: 'NVML could not initialise: check `nvidia-smi` and `dmesg` on the host',
  no_gpu_visible:
    'NVML sees no GPU: request one (Kubernetes nvidia.com/gpu, docker --gpus, compose device reservation); NVIDIA_VISIBLE_DEVICES=none exposes the driver without devices',
  visible_device_not_found:
    'CUDA_VISIBLE_DEVICES or NVIDIA_VISIBLE_DEVICES names a device this container cannot see: compare with `nvidia-smi -L`',
  gpu_unhealthy: 'a selected GPU is unhealthy: check `nvidia-smi -q` and `dmesg` for XID errors on the host',
  insufficient_gpu_count: 'fewer usable GPUs than GPU_MIN_COUNT: request more GPUs or lower GPU_MIN_COUNT',
  insufficient_gpu_memory: 'a GPU has less memory than GPU_MIN_MEMORY_GIB: schedule on a node with larger GPUs or lower the requirement',
  gpu_memory_unknown: 'the GPU does not report its memory (unified memory) and GPU_REQUIRE_MEMORY_INFO=true',
  insufficient_compute_capability: 'a GPU is older than GPU_MIN_COMPUTE_CAPABILITY: schedule on a node with newer GPUs',
  cuda_library_not_found: 'libcuda.so.1 cannot be loaded: NVIDIA_DRIVER_CAPABILITIES must include compute, or set CUDA_LIBRARY_PATH',
  cuda_smoke_test_failed: 'CUDA could not use the GPU: check `nvidia-smi`, `dmesg` for XID errors, and that no process holds the GPU in exclusive mode',
  startup_timeout: 'a driver call did not return in time: the GPU or driver may be hung; check `nvidia-smi` and `dmesg` on the host',
};

const EXIT_CODES: Readonly<Record<StartupReason, ExitCodeValue>> = {
  nvml_library_not_found: ExitCode.NVML_LIBRARY_NOT_FOUND,
  nvml_driver_not_loaded: ExitCode.NVML_INIT_FAILED,
  nvml_version_mismatch: ExitCode.NVML_INIT_FAILED,
  nvml_init_failed: ExitCode.NVML_INIT_FAILED,
  no_gpu_visible: ExitCode.NO_GPU,
  visible_device_not_found: ExitCode.NO_GPU,
  gpu_unhealthy: ExitCode.REQUIREMENT_NOT_MET,
  insufficient_gpu_count: ExitCode.REQUIREMENT_NOT_MET,
  insufficient_gpu_memory: ExitCode.REQUIREMENT_NOT_MET,
  gpu_memory_unknown: ExitCode.REQUIREMENT_NOT_MET,
  insufficient_compute_capability: ExitCode.REQUIREMENT_NOT_MET,
  cuda_library_not_found: ExitCode.CUDA_FAILED,
  cuda_smoke_test_failed: ExitCode.CUDA_FAILED,
  startup_timeout: ExitCode.STARTUP_TIMEOUT,
};

/** The start-up GPU check failed; main.ts logs it as one fatal line and exits with `exitCode`. */
export class StartupRefusedError extends Error {
  override readonly name = 'StartupRefusedError';
  readonly exitCode: ExitCodeValue;
  readonly hint: string;

  constructor(readonly problems: readonly StartupProblem[]) {
    super(`GPU start-up check failed: ${problems.map((p) => p.detail).join('; ')}`);
    const first = problems[0]!;
    this.exitCode = EXIT_CODES[first.reason];
    this.hint = [...new Set(problems.map((p) => STARTUP_HINTS[p.reason]))].join(' | ');
  }

  /** The `reason` of the first problem (they share a stage). */
  get reason(): StartupReason {
    return this.problems[0]!.reason;
  }
}

/** The problem for an NVML library that cannot be loaded, naming every path tried. */
export function libraryNotFound(attempts: readonly LibraryLoadAttempt[]): StartupProblem {
  return {
    reason: 'nvml_library_not_found',
    detail: `libnvidia-ml.so.1 cannot be loaded; tried ${attempts.map((a) => `${a.path} (${a.error})`).join(', ')}`,
    code: 12,
    codeName: 'NVML_ERROR_LIBRARY_NOT_FOUND',
  };
}

/** The fields of the one fatal line that reports a refused start-up. */
export function refusalRecord(error: StartupRefusedError): Record<string, unknown> {
  const first = error.problems[0]!;
  return {
    reason: error.reason,
    exitCode: error.exitCode,
    ...(first.code !== undefined && { code: first.code }),
    ...(first.codeName !== undefined && { codeName: first.codeName }),
    ...(first.fn !== undefined && { fn: first.fn }),
    hint: error.hint,
    problems: error.problems,
  };
}
