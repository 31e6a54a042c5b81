package dev.momstream.pipeline.cluster;

import java.io.IOException;

/**
 * The main class of a {@link LocalFlinkCluster} JVM: runs Flink's own entry point (the first
 * argument; the rest are its arguments) and ends the JVM when the process that started it is
 * gone. Its standard input is a pipe from that process, which the kernel closes when the process
 * dies, even by {@code kill -9}: no JobManager or TaskManager outlives the {@code mom} that
 * started it.
 */
public final class ClusterProcess {

    private ClusterProcess() {
    }

    public static void main(String[] args) throws Exception {
        Thread watch = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // nothing is ever sent; the read returns -1 when the parent is gone
                }
            } catch (IOException closed) {
                // the same
            }
            System.err.println("the process that started this Flink JVM is gone; stopping");
            Thread halt = new Thread(() -> {
                try {
                    Thread.sleep(10_000);
                } catch (InterruptedException ignored) {
                    // halting anyway
                }
                Runtime.getRuntime().halt(1); // Flink's shutdown hooks did not finish in time
            });
            halt.setDaemon(true);
            halt.start();
            System.exit(1);
        }, "parent-watch");
        watch.setDaemon(true);
        watch.start();
        String[] rest = new String[args.length - 1];
        System.arraycopy(args, 1, rest, 0, rest.length);
        Class.forName(args[0]).getMethod("main", String[].class).invoke(null, (Object) rest);
    }
}
