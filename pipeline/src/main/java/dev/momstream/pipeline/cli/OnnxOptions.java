package dev.momstream.pipeline.cli;

import dev.momstream.trainer.onnx.InferenceOptions;

/** ONNX Runtime settings of a command: its {@code --device}, and the global {@code --threads}. */
final class OnnxOptions {
    private OnnxOptions() {}

    static InferenceOptions of(DeviceOption device) {
        return InferenceOptions.defaults().withDevice(device.name).withThreads(MomCli.threads());
    }
}
