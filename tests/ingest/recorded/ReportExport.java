package com.acme.export;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.TimeoutException;

public class ReportExport {
    static class Sink implements AutoCloseable {
        private final String name;

        Sink(String name) {
            this.name = name;
        }

        @Override
        public void close() throws IOException {
            throw new IOException("close failed: " + name);
        }
    }

    static class Lock implements AutoCloseable {
        @Override
        public void close() {
            throw new IllegalStateException("unlock failed", new TimeoutException("lock server timed out"));
        }
    }

    static void write(Sink sink) throws IOException {
        throw new IOException("disk full");
    }

    static void export(String report) {
        try (Lock lock = new Lock(); Sink out = new Sink(report)) {
            write(out);
        } catch (IOException e) {
            throw new UncheckedIOException("export of " + report + " failed", e);
        }
    }

    public static void main(String[] args) {
        try {
            export("q3.csv");
        } catch (RuntimeException e) {
            e.printStackTrace();
        }
    }
}
