/// One key and value of a ``YAMLTree`` mapping.
public struct YAMLEntry: Sendable, Hashable {
    public var key: String
    public var value: YAMLTree

    public init(_ key: String, _ value: YAMLTree) {
        self.key = key
        self.value = value
    }
}
