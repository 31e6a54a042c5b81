package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicCatalog;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the embedded MiniCluster exposes, read from the kernel's socket tables while a run is up,
 * not from configuration: every socket this JVM listens on is bound to loopback (Web UI and REST
 * API, BlobServer, RPC), jar upload is refused, and Flink's temporary files are in the run
 * directory. {@code --web-ui-bind} opens the Web UI alone.
 */
class ExposureIT {

    private static final int STEPS = 4;
    /** The 21 MB jar Flink unpacks from its RPC loader at every start: flink-rpc-akka&lt;uuid&gt;.jar. */
    private static final String UNPACKED_RPC_JAR = "flink-rpc-akka[0-9a-f-]{36}\\.jar";

    /** What was seen while the run was up. */
    private record Seen(int webPort, List<InetSocketAddress> listening, int uploadStatus, int jarsStatus,
                        Optional<String> reachedFromOutside, List<String> runTmp, List<String> openRpcJars) {
    }

    @Test
    void byDefaultEverythingListensOnLoopbackAndJarUploadIsRefused(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        Seen seen = runAndLook(run, InetAddress.getLoopbackAddress());

        assertTrue(seen.listening().stream().anyMatch(a -> a.getPort() == seen.webPort()),
                "the Web UI's port " + seen.webPort() + " is among " + seen.listening());
        List<InetSocketAddress> exposed = seen.listening().stream()
                .filter(a -> !a.getAddress().isLoopbackAddress()).toList();
        assertEquals(List.of(), exposed, "sockets this JVM listens on beyond loopback, of " + seen.listening());
        assertRefused(seen);
        seen.reachedFromOutside().ifPresent(a -> fail("the Web UI answered on " + a));

        String tmp = run.resolve(RunDirectory.FLINK_TMP).toString();
        assertTrue(seen.runTmp().stream().anyMatch(f -> f.matches(UNPACKED_RPC_JAR)),
                "the RPC jar is unpacked into the run: " + seen.runTmp());
        assertTrue(seen.runTmp().stream().anyMatch(f -> f.startsWith("minicluster_")), seen.runTmp().toString());
        assertFalse(seen.openRpcJars().isEmpty(), "this JVM holds the RPC jar open");
        assertTrue(seen.openRpcJars().stream().allMatch(j -> j.startsWith(tmp)), seen.openRpcJars().toString());
        // the MiniCluster shuts down on its own once the cancelled job has ended
        Path jar = run.resolve(RunDirectory.FLINK_TMP).resolve(seen.runTmp().stream()
                .filter(f -> f.matches(UNPACKED_RPC_JAR)).findFirst().orElseThrow());
        for (long deadline = System.nanoTime() + 30_000_000_000L; Files.exists(jar) && System.nanoTime() < deadline; ) {
            Thread.sleep(200);
        }
        assertFalse(Files.exists(jar), "a clean stop removes the RPC jar");
    }

    @Test
    void webUiBindOpensTheWebUiAloneStillWithoutJarUpload(@TempDir Path dir) throws Exception {
        Seen seen = runAndLook(dir.resolve("run"), InetAddress.getByName("0.0.0.0"));

        List<InetSocketAddress> exposed = seen.listening().stream()
                .filter(a -> !a.getAddress().isLoopbackAddress()).toList();
        assertEquals(1, exposed.size(), "only the Web UI is opened: " + seen.listening());
        assertEquals(seen.webPort(), exposed.get(0).getPort());
        assertTrue(exposed.get(0).getAddress().isAnyLocalAddress(), exposed.toString());
        assertRefused(seen); // also when the Web UI is opened
    }

    /** Flink answers an upload with 400 "POST request not allowed" and has no jar handlers (200 before). */
    private static void assertRefused(Seen seen) {
        assertEquals(400, seen.uploadStatus(), "jar upload");
        assertEquals(404, seen.jarsStatus(), "listing uploaded jars");
    }

    private static Seen runAndLook(Path run, InetAddress webUiBind) throws Exception {
        KafkaSettings kafka = Streams.sharedBroker();
        TopicCatalog topics = Streams.topics(kafka, 1);
        Streams.send(kafka, topics.name(Topic.TEXT_TRAIN), Streams.utf8(Streams.paragraphs(60)));
        Streams.send(kafka, topics.name(Topic.TEXT_EVAL), Streams.utf8(Streams.paragraphs(70).subList(60, 70)));
        List<Seen> seen = new ArrayList<>();
        RunOptions options = Streams.options(run, Streams.tiny(STEPS), kafka, topics, STEPS).webUiBind(webUiBind)
                .build();
        new StreamingRun(options).run(new StreamingRun.Listener() {
            @Override
            public void started(StreamingRun.Started started) {
                int port = started.webUi().getPort();
                seen.add(new Seen(port, listeningSockets(), uploadStatus(started.webUi()),
                        status(HttpRequest.newBuilder(started.webUi().resolve("/jars")).build()), reachedFromOutside(port),
                        list(run.resolve(RunDirectory.FLINK_TMP)), openFiles("flink-rpc-akka").stream()
                                .filter(f -> Path.of(f).getFileName().toString().matches(UNPACKED_RPC_JAR)).toList()));
            }
        });
        assertEquals(1, seen.size());
        return seen.get(0);
    }

    /** TCP sockets in LISTEN state that this process holds, from /proc/net/tcp and tcp6. */
    static List<InetSocketAddress> listeningSockets() {
        Set<String> inodes = new HashSet<>();
        for (String target : openFiles("socket:[")) {
            inodes.add(target.substring("socket:[".length(), target.length() - 1));
        }
        List<InetSocketAddress> out = new ArrayList<>();
        for (String table : List.of("/proc/self/net/tcp", "/proc/self/net/tcp6")) {
            try {
                List<String> lines = Files.readAllLines(Path.of(table));
                for (String line : lines.subList(1, lines.size())) { // after the header
                    String[] f = line.trim().split("\\s+"); // sl local remote state ... uid timeout inode
                    if (f[3].equals("0A") && inodes.contains(f[9])) { // 0A: LISTEN
                        String[] hostPort = f[1].split(":");
                        out.add(new InetSocketAddress(address(hostPort[0]), Integer.parseInt(hostPort[1], 16)));
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }

    /** The kernel writes each 32-bit word of an address in host (little-endian) order. */
    private static InetAddress address(String hex) {
        byte[] bytes = new byte[hex.length() / 2];
        for (int word = 0; word < bytes.length / 4; word++) {
            for (int b = 0; b < 4; b++) {
                int at = (word * 4 + 3 - b) * 2;
                bytes[word * 4 + b] = (byte) Integer.parseInt(hex.substring(at, at + 2), 16);
            }
        }
        try {
            return InetAddress.getByAddress(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Targets of this process's open file descriptors that contain {@code part}. */
    private static List<String> openFiles(String part) {
        List<String> out = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.contains(part)) {
                        out.add(target);
                    }
                } catch (IOException closedMeanwhile) {
                    // the descriptor was closed between listing and reading it
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** The status of a jar upload to the REST API, as Flink's CLI would send it. */
    private static int uploadStatus(URI webUi) {
        String boundary = "mom-stream-test";
        String body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\"x.jar\"\r\n"
                + "Content-Type: application/x-java-archive\r\n\r\nPK\u0005\u0006" + "\0".repeat(18) + "\r\n--" + boundary
                + "--\r\n";
        return status(HttpRequest.newBuilder(webUi.resolve("/jars/upload"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.ISO_8859_1)).build());
    }

    private static int status(HttpRequest request) {
        try {
            return HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * The first of this machine's non-loopback IPv4 addresses on which {@code port} accepts a
     * connection; empty when none does (or the machine has no such address, which the test
     * output then says).
     */
    private static Optional<String> reachedFromOutside(int port) {
        List<InetAddress> outside = new ArrayList<>();
        try {
            for (NetworkInterface nic : NetworkInterface.networkInterfaces().toList()) {
                nic.inetAddresses().filter(a -> a instanceof Inet4Address && !a.isLoopbackAddress())
                        .forEach(outside::add);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (outside.isEmpty()) {
            System.out.println("ExposureIT: no non-loopback address on this machine to try the Web UI from");
        }
        for (InetAddress a : outside) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(a, port), 2000);
                return Optional.of(a.getHostAddress() + ":" + port);
            } catch (ConnectException refused) {
                // as it should be
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return Optional.empty();
    }

    private static List<String> list(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
