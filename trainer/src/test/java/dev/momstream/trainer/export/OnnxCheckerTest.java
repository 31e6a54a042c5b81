package dev.momstream.trainer.export;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.config.RouterKind;
import dev.momstream.trainer.model.Fixtures;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.onnx.OnnxExport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exported graphs pass the full checker (with shape inference) of an independent
 * toolchain: the {@code onnx} Python package of Debian's python3-onnx (1.12). Skipped, with
 * the reason printed, when no python3 on this machine can import it.
 */
class OnnxCheckerTest {
    private static final String CHECK = String.join("\n",
            "import sys, onnx",
            "for path in sys.argv[1:]:",
            "    m = onnx.load(path)",
            "    onnx.checker.check_model(m, full_check=True)",
            "    print('ok', m.ir_version, ' '.join(f'{o.domain or \"ai.onnx\"}:{o.version}' for o in m.opset_import),",
            "          len(m.graph.initializer), path)");

    @TempDir
    Path dir;

    @Test
    void exportedGraphsPassTheOnnxFullChecker() throws Exception {
        String python = pythonWithOnnx();
        List<String> command = new ArrayList<>(List.of(python, "-c", CHECK));
        List<MomConfig> configs = List.of(
                Fixtures.smallMom(2, 2, true, RouterKind.GRU),
                Fixtures.smallMom(3, 1, false, RouterKind.MLP).toBuilder().renormalize(true).weightedQkv(true).build(),
                OnnxParityTest.shrunk(Preset.MOE),
                OnnxParityTest.shrunk(Preset.VANILLA));
        for (int i = 0; i < configs.size(); i++) {
            try (MomModel model = Exports.randomModel(configs.get(i), i)) {
                Path out = OnnxExporter.export(model, OnnxExporter.Source.untrained(), dir.resolve("m" + i));
                command.add(out.resolve(OnnxExport.SCORE).toString());
                command.add(out.resolve(OnnxExport.DECODE).toString());
            }
        }
        Result r = run(command);
        assertEquals(0, r.exit(), "onnx.checker rejected an export:\n" + r.output());
        long ok = r.output().lines().filter(l -> l.startsWith("ok 8 ai.onnx:17 ")).count();
        assertEquals(2L * configs.size(), ok, r.output());
    }

    /** A python3 that can import onnx, or the test is skipped with the reason printed. */
    private static String pythonWithOnnx() throws InterruptedException {
        List<String> tried = new ArrayList<>();
        for (String candidate : new String[] {"python3", "/usr/bin/python3"}) {
            try {
                Result r = run(List.of(candidate, "-c", "import onnx; print(onnx.__version__)"));
                if (r.exit() == 0) {
                    return candidate;
                }
                tried.add(candidate + ": " + r.output().strip().lines().reduce((a, b) -> b).orElse("exit " + r.exit()));
            } catch (IOException e) {
                tried.add(candidate + ": " + e.getMessage());
            }
        }
        String reason = "SKIPPED onnx full-checker test: no python3 can import onnx (install Debian's "
                + "python3-onnx: apt-get install python3-onnx); tried " + String.join("; ", tried);
        System.out.println(reason);
        Assumptions.assumeTrue(false, reason);
        return null;
    }

    private record Result(int exit, String output) {}

    private static Result run(List<String> command) throws IOException, InterruptedException {
        Path log = Files.createTempFile("onnx-check", ".log");
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(command.get(0) + " did not finish within 120 s");
            }
            return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
