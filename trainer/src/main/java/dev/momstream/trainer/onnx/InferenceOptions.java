package dev.momstream.trainer.onnx;

import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import java.util.Locale;

/**
 * How ONNX Runtime runs an exported model.
 *
 * @param device {@code cpu}, {@code gpu} (= {@code gpu:0}) or {@code gpu:N}; a GPU needs the
 *     {@code onnxruntime_gpu} artifact and CUDA, otherwise the model runs on the CPU and the
 *     reason is logged
 * @param scoreThreads intra-op threads of the {@code score} session, 0 = one per core
 * @param decodeThreads intra-op threads of the {@code decode} session, 0 = one per core
 * @param optimization graph optimisation level applied when a session is created
 */
public record InferenceOptions(String device, int scoreThreads, int decodeThreads, OptLevel optimization) {

    public InferenceOptions {
        if (scoreThreads < 0 || decodeThreads < 0) {
            throw new IllegalArgumentException("thread counts must be >= 0 (score " + scoreThreads + ", decode "
                    + decodeThreads + ")");
        }
        gpuIndex(device); // validates
    }

    /**
     * CPU and every graph optimisation; scoring on one thread per core, decoding on one thread:
     * a decode step is hundreds of operators on one row each, too small to split, and extra
     * threads only add synchronisation (docs/PERFORMANCE.md, "ONNX Runtime settings").
     */
    public static InferenceOptions defaults() {
        return new InferenceOptions("cpu", 0, 1, OptLevel.ALL_OPT);
    }

    public InferenceOptions withDevice(String d) {
        return new InferenceOptions(d, scoreThreads, decodeThreads, optimization);
    }

    /** The same intra-op thread count for both sessions. */
    public InferenceOptions withThreads(int threads) {
        return new InferenceOptions(device, threads, threads, optimization);
    }

    public InferenceOptions withOptimization(OptLevel level) {
        return new InferenceOptions(device, scoreThreads, decodeThreads, level);
    }

    /** The requested GPU index, or -1 for the CPU. */
    public int gpu() {
        return gpuIndex(device);
    }

    private static int gpuIndex(String device) {
        String s = device == null ? "cpu" : device.trim().toLowerCase(Locale.ROOT);
        if (s.equals("cpu")) {
            return -1;
        }
        if (s.equals("gpu") || s.equals("cuda")) {
            return 0;
        }
        if (s.startsWith("gpu:") || s.startsWith("cuda:")) {
            try {
                int id = Integer.parseInt(s.substring(s.indexOf(':') + 1));
                if (id >= 0) {
                    return id;
                }
            } catch (NumberFormatException ignored) {
                // reported below
            }
        }
        throw new IllegalArgumentException("unknown device '" + device + "' (cpu, gpu or gpu:N)");
    }
}
