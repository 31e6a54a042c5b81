package dev.momstream.pipeline.cli;

import dev.momstream.trainer.onnx.InferenceOptions;

/** ONNX Runtime settings of a command: its {@code --device}, and the global {@code --threads} if given. */
final class OnnxOptions {
    private OnnxOptions() {}

    static InferenceOptions of(DeviceOption device) {
        InferenceOptions o = InferenceOptions.defaults().withDevice(device.name);
        return MomCli.threads() > 0 ? o.withThreads(MomCli.threads()) : o;
    }
}
