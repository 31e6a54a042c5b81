package dev.momstream.pipeline.cli;

import dev.momstream.trainer.engine.TorchRuntime;
import picocli.CommandLine.Option;

/** {@code --device}: where the model runs, for every command that runs one. */
final class DeviceOption {

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = TorchRuntime.DEFAULT_DEVICE,
            description = "cpu, gpu or gpu:N (default: ${DEFAULT-VALUE}).")
    String name;
}
