package dev.momstream.trainer.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Serving never loads libtorch: no class reachable from this package, through our own classes'
 * constant pools, names a DJL class. (A reference in the constant pool is what the JVM resolves
 * when the code runs, so an empty result means the serving path cannot touch DJL.)
 */
class ServingClassPathTest {
    private static final Pattern OURS = Pattern.compile("dev/momstream/[A-Za-z0-9_/$]+");

    @Test
    void noDjlClassIsReachableFromTheOnnxRuntimeSide() throws Exception {
        Path classes = Path.of(OnnxModel.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path start = classes.resolve("dev/momstream/trainer/onnx");
        Map<String, String> reachedFrom = new LinkedHashMap<>();
        Deque<String> queue = new ArrayDeque<>();
        try (Stream<Path> files = Files.walk(start)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
                String name = classes.relativize(f).toString().replace(".class", "");
                reachedFrom.put(name, "(the onnx package)");
                queue.add(name);
            }
        }
        assertTrue(reachedFrom.containsKey("dev/momstream/trainer/onnx/OnnxModel"));
        while (!queue.isEmpty()) {
            String name = queue.poll();
            String pool = constantPool(classes.resolve(name + ".class"));
            assertTrue(!pool.contains("ai/djl/"), name + " (reached from " + chain(reachedFrom, name)
                    + ") refers to DJL");
            Matcher m = OURS.matcher(pool);
            while (m.find()) {
                String ref = m.group();
                if (!reachedFrom.containsKey(ref) && Files.exists(classes.resolve(ref + ".class"))) {
                    reachedFrom.put(ref, name);
                    queue.add(ref);
                }
            }
        }
        assertTrue(reachedFrom.containsKey("dev/momstream/trainer/checkpoint/Manifest"), reachedFrom.keySet().toString());
        assertEquals(List.of(), reachedFrom.keySet().stream().filter(n -> n.contains("/model/MomModel")).toList());
    }

    private static String constantPool(Path classFile) throws IOException {
        return new String(Files.readAllBytes(classFile), StandardCharsets.ISO_8859_1);
    }

    private static String chain(Map<String, String> from, String name) {
        StringBuilder sb = new StringBuilder(name);
        for (String at = from.get(name); at != null && from.containsKey(at); at = from.get(at)) {
            sb.append(" <- ").append(at);
        }
        return sb.toString();
    }
}
