package dev.momstream.pipeline.cluster;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/** This JVM's class path as files: {@code java -jar mom.jar} names only mom.jar, whose manifest lists lib/. */
public final class Classpath {

    private Classpath() {
    }

    /** Every jar and class directory of this JVM's class path, manifest class paths expanded, in order. */
    public static List<Path> entries() {
        List<Path> out = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (entry.isBlank()) {
                continue;
            }
            Path path = Path.of(entry).toAbsolutePath().normalize();
            out.add(path);
            if (entry.endsWith(".jar") && Files.isRegularFile(path)) {
                out.addAll(manifestClassPath(path));
            }
        }
        return out.stream().distinct().toList();
    }

    private static List<Path> manifestClassPath(Path jar) {
        try (JarFile file = new JarFile(jar.toFile())) {
            Manifest manifest = file.getManifest();
            String classPath = manifest == null ? null : manifest.getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
            if (classPath == null || classPath.isBlank()) {
                return List.of();
            }
            return Arrays.stream(classPath.trim().split("\\s+"))
                    .map(e -> jar.getParent().resolve(e).normalize())
                    .filter(p -> p.toString().endsWith(".jar"))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the manifest of " + jar, e);
        }
    }
}
