package dev.momstream.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deploy/bin/session-cluster} misused: options out of range, commands with no cluster,
 * PID files that outlived their cluster, and two commands at once on one directory. None of
 * these starts a JVM; {@link SessionClusterIT} runs a real cluster.
 */
class SessionClusterScriptTest {

    @Test
    void badOptionsAreRefusedByNameBeforeAnythingIsCreated(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("cluster");
        String d = dir.toString();
        Map<List<String>, String> refused = Map.ofEntries(
                Map.entry(List.of("--taskmanagers", "0"), "--taskmanagers must be a whole number from 1 to 64, got '0'"),
                Map.entry(List.of("--taskmanagers", "65"), "--taskmanagers must be a whole number from 1 to 64, got '65'"),
                // 2^64 + 1: bash's arithmetic wraps it to 1, which started one TaskManager and reported this number
                Map.entry(List.of("--taskmanagers", "18446744073709551617"),
                        "--taskmanagers must be a whole number from 1 to 64, got '18446744073709551617'"),
                Map.entry(List.of("--taskmanagers", "02"), "--taskmanagers must be a whole number from 1 to 64, got '02'"),
                Map.entry(List.of("--rest-port", "70000"), "--rest-port must be a whole number from 1 to 65535"),
                Map.entry(List.of("--rpc-port", "-1"), "--rpc-port needs a value"),
                Map.entry(List.of("--rest-port", "9000", "--rpc-port", "9000"), "--rest-port and --rpc-port must differ"),
                Map.entry(List.of("--jobmanager-memory", "1x"), "--jobmanager-memory must be a size such as 1536m or 2g"),
                Map.entry(List.of("--taskmanager-memory", "99999999999g"), "--taskmanager-memory must be a size"),
                Map.entry(List.of("--threads"), "--threads needs a value"),
                Map.entry(List.of("--wait", "1e3"), "--wait must be a whole number from 1 to 86400"),
                Map.entry(List.of("--frobnicate"), "unknown option --frobnicate"),
                Map.entry(List.of("extra"), "start takes no arguments: extra"));
        for (Map.Entry<List<String>, String> e : refused.entrySet()) {
            List<String> args = new ArrayList<>(List.of("start", "--dir", d));
            args.addAll(e.getKey());
            SessionClusterScript.Result r = SessionClusterScript.run(tmp, 60, args);
            assertEquals(1, r.exit(), args + ":\n" + r.output());
            assertTrue(r.output().contains(e.getValue()), args + " should say '" + e.getValue() + "':\n" + r.output());
            assertFalse(Files.exists(dir), args + " created " + dir);
        }
        SessionClusterScript.Result noDir = SessionClusterScript.run(tmp, "start", "--dir");
        assertTrue(noDir.output().contains("--dir needs a value"), noDir.output());
        SessionClusterScript.Result unknown = SessionClusterScript.run(tmp, "launch");
        assertEquals(2, unknown.exit(), unknown.output());
        assertTrue(unknown.output().contains("unknown command 'launch': start, submit, status or stop"), unknown.output());

        Path file = Files.writeString(tmp.resolve("a-file"), "not a directory");
        SessionClusterScript.Result onFile = SessionClusterScript.run(tmp, "start", "--dir", file.toString());
        assertEquals(1, onFile.exit(), onFile.output());
        assertTrue(onFile.output().contains("--dir " + file + ": cannot create this directory"), onFile.output());
        assertEquals("not a directory", Files.readString(file));
    }

    @Test
    void withNoClusterStopSucceedsAndStatusAndSubmitSaySo(@TempDir Path tmp) throws Exception {
        String d = tmp.resolve("none").toString();
        SessionClusterScript.Result stop = SessionClusterScript.run(tmp, "stop", "--dir", d);
        assertEquals(0, stop.exit(), stop.output());
        assertEquals("no session cluster runs in " + d + "\n", stop.output());
        SessionClusterScript.Result status = SessionClusterScript.run(tmp, "status", "--dir", d);
        assertEquals(3, status.exit(), status.output());
        assertEquals("no session cluster in " + d + "\n", status.output());
        SessionClusterScript.Result submit = SessionClusterScript.run(tmp, "submit", "--dir", d, "run", "--out", "r");
        assertEquals(1, submit.exit(), submit.output());
        assertTrue(submit.output().contains("no session cluster in " + d + ": deploy/bin/session-cluster start first"),
                submit.output());
        assertFalse(Files.exists(Path.of(d)), "status, stop and submit create nothing");
    }

    /**
     * PID files left by a cluster that was killed, or by a machine that restarted: one names a PID
     * now used by an unrelated process, one a PID that has ended, one holds no number. Nothing is
     * signalled, and {@code stop} clears them.
     */
    @Test
    void stalePidFilesNeverStopAnotherProcess(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("cluster");
        Path pids = Files.createDirectories(dir.resolve("pids"));
        Files.createDirectories(dir.resolve("conf"));
        Files.writeString(dir.resolve("conf/config.yaml"), "rest.port: 1\n");
        Process unrelated = new ProcessBuilder("sleep", "120").start();
        Process ended = new ProcessBuilder("true").start();
        ended.waitFor();
        try {
            Files.writeString(pids.resolve("jobmanager.pid"), unrelated.pid() + "\n");
            Files.writeString(pids.resolve("taskmanager-1.pid"), ended.pid() + "\n");
            Files.writeString(pids.resolve("taskmanager-2.pid"), "self\n");

            SessionClusterScript.Result status = SessionClusterScript.run(tmp, "status", "--dir", dir.toString());
            assertEquals(1, status.exit(), status.output());
            assertTrue(status.output().contains("jobmanager: not running (pid " + unrelated.pid()
                    + " is not this cluster's JVM)"), status.output());
            SessionClusterScript.Result stop = SessionClusterScript.run(tmp, "stop", "--dir", dir.toString());
            assertEquals(0, stop.exit(), stop.output());
            assertTrue(stop.output().contains("no session cluster runs in " + dir), stop.output());
            assertTrue(unrelated.isAlive(), "stop signalled an unrelated process that reuses a recorded PID");
            try (var left = Files.list(pids)) {
                assertEquals(List.of(), left.toList(), "the stale PID files are removed");
            }
        } finally {
            unrelated.destroy();
        }
    }

    /** Two starts at once would each find no cluster and start two; the second is refused at once. */
    @Test
    void aStartWhileAnotherCommandHoldsTheDirectoryIsRefused(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("cluster"));
        Process holder = new ProcessBuilder("flock", dir.resolve(".lock").toString(), "sh", "-c", "echo held; sleep 120")
                .redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8))) {
            assertEquals("held", out.readLine(), "flock(1) took the lock");
            for (String command : List.of("start", "stop")) {
                SessionClusterScript.Result r = SessionClusterScript.run(tmp, command, "--dir", dir.toString());
                assertNotEquals(0, r.exit(), command + ":\n" + r.output());
                assertTrue(r.output().contains("another session-cluster start or stop is working on " + dir), r.output());
            }
            assertFalse(Files.exists(dir.resolve("conf")), "the refused start wrote no configuration");
        } finally {
            holder.descendants().forEach(ProcessHandle::destroy);
            holder.destroy();
        }
    }
}
