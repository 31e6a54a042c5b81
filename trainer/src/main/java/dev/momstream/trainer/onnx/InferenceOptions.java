package dev.momstream.trainer.onnx;

import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import java.util.Locale;

/**
 * How ONNX Runtime runs an exported model.
 *
 * @param device {@code cpu}, {@code gpu} (= {@code gpu:0}) or {@code gpu:N}; a GPU needs the
 *     {@code onnxruntime_gpu} artifact and CUDA, otherwise the model runs on the CPU and the
 *     reason is logged
 * @param intraOpThreads threads of one operator, 0 = one per core
 * @param optimization graph optimisation level applied when a session is created
 */
public record InferenceOptions(String device, int intraOpThreads, OptLevel optimization) {

    public InferenceOptions {
        if (intraOpThreads < 0) {
            throw new IllegalArgumentException("intraOpThreads=" + intraOpThreads + " must be >= 0");
        }
        gpuIndex(device); // validates
    }

    /** CPU, one thread per core, every graph optimisation (the measured best, docs/PERFORMANCE.md). */
    public static InferenceOptions defaults() {
        return new InferenceOptions("cpu", 0, OptLevel.ALL_OPT);
    }

    public InferenceOptions withDevice(String d) {
        return new InferenceOptions(d, intraOpThreads, optimization);
    }

    public InferenceOptions withThreads(int threads) {
        return new InferenceOptions(device, threads, optimization);
    }

    public InferenceOptions withOptimization(OptLevel level) {
        return new InferenceOptions(device, intraOpThreads, level);
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
