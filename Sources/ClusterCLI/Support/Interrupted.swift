/// The command was stopped by a signal.
struct Interrupted: Error, CustomStringConvertible {
    var signal: String
    var description: String {
        "clusterctl: interrupted by \(signal); work already started may be half done — run the same command again to converge"
    }
}
