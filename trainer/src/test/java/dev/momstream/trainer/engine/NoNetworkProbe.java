package dev.momstream.trainer.engine;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketPermission;
import java.security.Permission;

/**
 * Child-JVM probe: starts the engine under a security manager that fails any network access
 * (socket connect or DNS lookup), then runs one op. Exit code 0 = no network was touched, 2 =
 * something reached for the network. With the argument {@code control} it opens a socket on
 * purpose, to show that the guard works; with {@code raw} it starts DJL directly with offline
 * mode and the opt-out switched off, to show what the settings prevent.
 */
public final class NoNetworkProbe {
    private NoNetworkProbe() {}

    @SuppressWarnings("removal")
    public static void main(String[] args) {
        System.setSecurityManager(new SecurityManager() {
            @Override
            public void checkConnect(String host, int port) {
                throw new SecurityException("network access to " + host + ":" + port);
            }

            @Override
            public void checkConnect(String host, int port, Object context) {
                checkConnect(host, port);
            }

            @Override
            public void checkPermission(Permission perm) {
                if (perm instanceof SocketPermission) {
                    throw new SecurityException("network permission " + perm);
                }
            }
        });
        boolean raw = args.length > 0 && args[0].equals("raw");
        if (raw) {
            System.setProperty(TorchRuntime.OFFLINE, "false");
            System.setProperty(TorchRuntime.OPT_OUT, "false");
        }
        try (NDManager m = (raw ? Engine.getInstance() : TorchRuntime.engine()).newBaseManager()) {
            if (args.length > 0 && args[0].equals("control")) {
                new Socket("127.0.0.1", 9).close();
            }
            float sum = m.ones(new Shape(3)).sum().getFloat();
            System.out.println("offline=" + TorchRuntime.isOffline() + " optOut="
                    + TorchRuntime.isTrackingOptedOut() + " sum=" + sum);
            System.exit(sum == 3f ? 0 : 3);
        } catch (SecurityException | IOException e) {
            e.printStackTrace();
            System.exit(2);
        }
    }
}
