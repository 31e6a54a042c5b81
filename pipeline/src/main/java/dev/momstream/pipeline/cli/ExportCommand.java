package dev.momstream.pipeline.cli;

import dev.momstream.operators.train.RunLayout;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.export.OnnxExporter;
import dev.momstream.trainer.onnx.ExportMetadata;
import dev.momstream.trainer.onnx.OnnxExport;
import dev.momstream.trainer.onnx.OnnxModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mom export}: a trainer checkpoint as ONNX graphs for ONNX Runtime. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Export a checkpoint to ONNX: score.onnx, decode.onnx, weights.bin, metadata.json, MANIFEST.sha256.",
        footer = {"", "A streaming checkpoint (<run>/checkpoints/ckpt-<id>) exports as version <id>, with its lineage card.",
            "Example: ./mom export runs/tiny/checkpoints/step-00000200 --out runs/tiny/onnx"})
public final class ExportCommand implements Callable<Integer> {
    private static final Pattern STREAMING = Pattern.compile("ckpt-(\\d+)");

    @Parameters(index = "0", paramLabel = "CHECKPOINT", description = "A checkpoint directory.")
    Path checkpoint;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The export directory (must not exist).")
    Path out;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Path ckpt = checkpoint.toAbsolutePath().normalize();
        Long version = null;
        Path card = null;
        Matcher m = STREAMING.matcher(ckpt.getFileName().toString());
        if (m.matches() && ckpt.getParent().getFileName().toString().equals(RunLayout.CHECKPOINTS)) {
            version = Long.parseLong(m.group(1));
            Path c = new RunLayout(ckpt.getParent().getParent()).card(version);
            card = Files.exists(c) ? c : null;
        }
        long t0 = System.nanoTime();
        Path dir = OnnxExporter.export(ckpt, version, card, out);
        double seconds = (System.nanoTime() - t0) / 1e9;
        ExportMetadata meta = OnnxModel.verify(dir);
        long bytes = 0;
        for (String f : new String[] {OnnxExport.SCORE, OnnxExport.DECODE, OnnxExport.WEIGHTS}) {
            bytes += Files.size(dir.resolve(f));
        }
        if (json) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("out", dir.toString());
            r.put("checkpoint", ckpt.toString());
            r.put("step", meta.step());
            r.put("version", meta.version());
            r.put("lineageCard", meta.lineageCard());
            r.put("bytes", bytes);
            r.put("seconds", seconds);
            System.out.println(Json.write(r));
        } else {
            System.out.printf("exported %s (step %d%s) to %s in %.1f s: %s, %s, %s (%.1f MB)%n", ckpt,
                    meta.step(), version == null ? "" : ", version " + version, dir, seconds,
                    OnnxExport.SCORE, OnnxExport.DECODE, OnnxExport.WEIGHTS, bytes / 1e6);
        }
        return 0;
    }
}
