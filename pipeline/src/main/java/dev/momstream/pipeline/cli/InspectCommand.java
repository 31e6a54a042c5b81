package dev.momstream.pipeline.cli;

import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.inspect.ModelReport;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

/** {@code mom inspect}: parameters, depth and FLOPs of a configuration or checkpoint. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Parameter count (total and per group), computation depth and FLOPs per token.",
        footer = {"", "Example: ./mom inspect --preset vanilla --size small"})
public final class InspectCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model;

    @Option(names = "--checkpoint", paramLabel = "DIR", description = "Inspect this checkpoint's configuration instead.")
    Path checkpoint;

    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;

    @Unmatched
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        MomConfig config = checkpoint != null ? Checkpoint.readConfigs(checkpoint).model()
                : model.resolve(overrides).model();
        ModelReport r = ModelReport.of(config);
        if (json) {
            System.out.println(Json.write(r));
            return 0;
        }
        MomConfig c = r.config();
        System.out.printf("parameters        %,d%n", r.parameters());
        for (Map.Entry<String, Long> g : r.groups().entrySet()) {
            System.out.printf("  %-15s %,d%n", g.getKey(), g.getValue());
        }
        System.out.printf("depth             %d  (B=%d + C=%d x (H=%d + anchor %d) + T=%d)%n", r.depth(),
                c.bottom(), c.chunks(), c.rounds(), c.anchor() ? 1 : 0, c.top());
        if (c.chunks() > 0) {
            System.out.printf("pools             N_A=%d N_F=%d K=%d skip=%s router=%s%n", c.attnModules(),
                    c.ffnModules(), c.topK(), c.skip(), c.router());
        }
        System.out.printf("FLOPs/token       %.3g forward, %.3g training (context %d, routed work only)%n",
                r.forwardFlopsPerToken(), r.trainFlopsPerToken(), c.contextLength());
        return 0;
    }
}
