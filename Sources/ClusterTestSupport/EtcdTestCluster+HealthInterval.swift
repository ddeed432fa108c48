extension EtcdTestCluster {
    /// Runs `body` again while etcd answers "unhealthy cluster", for up to 15 s: etcd refuses
    /// reconfiguration until every voter has been connected for its health interval (5 s,
    /// `server/etcdserver/server.go` `HealthInterval`), as right after a cluster starts.
    public static func afterHealthInterval<T>(_ body: () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + .seconds(15)
        while true {
            do {
                return try await body()
            } catch where "\(error)".contains("unhealthy cluster") && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }
}
