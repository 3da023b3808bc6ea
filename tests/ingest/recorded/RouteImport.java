import java.io.FileNotFoundException;

public class RouteImport {
    static void openGraph(String path) throws FileNotFoundException {
        throw new FileNotFoundException(path + " (No such file or directory)");
    }

    static void loadGraph(String region) {
        try {
            openGraph("/data/graph/" + region + ".bin");
        } catch (FileNotFoundException e) {
            throw new IllegalStateException("graph for " + region + " not loaded", e);
        }
    }

    static void planRoute(String region) {
        try {
            loadGraph(region);
        } catch (IllegalStateException e) {
            throw new RuntimeException("route planning failed", e);
        }
    }

    static void handle(String region) {
        planRoute(region);
    }

    public static void main(String[] args) {
        try {
            handle("eu-west");
        } catch (RuntimeException e) {
            e.printStackTrace();
        }
    }
}
