import CCurl
import Synchronization

/// One libcurl easy handle, owned by exactly one instance and freed in `deinit`.
///
/// Every `CURLcode` goes through ``check(_:_:)``, which throws an ``HTTPError`` carrying
/// libcurl's own message (`CURLOPT_ERRORBUFFER`, else `curl_easy_strerror`). Options are set
/// through the typed shims in `Sources/CCurl/shim.h`, since `curl_easy_setopt` is variadic.
/// Not thread-safe: one transfer at a time, on one thread (libcurl's "easy" contract).
final class CurlEasyHandle {
    /// `curl_global_init` must run once before any handle exists (libcurl docs, "curl_global_init").
    private static let globalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_SSL | CURL_GLOBAL_WIN32))

    let raw: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var headerList: UnsafeMutablePointer<curl_slist>?

    init() throws(HTTPError) {
        let initResult = Self.globalInit
        guard initResult == CURLE_OK else {
            throw HTTPError(code: .transport, message: "libcurl failed to initialise: \(String(cString: curl_easy_strerror(initResult)))")
        }
        guard let handle = curl_easy_init() else {
            throw HTTPError(code: .transport, message: "curl_easy_init returned no handle (out of memory?)")
        }
        raw = handle
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        // Registered first so every later failure can carry libcurl's detailed message.
        _ = cc_setopt_pointer(raw, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer))
    }

    deinit {
        curl_easy_cleanup(raw)
        if let headerList { curl_slist_free_all(headerList) }
        errorBuffer.deallocate()
    }

    /// Throws for any code but `CURLE_OK`, classifying it for the retry loop.
    func check(_ code: CURLcode, _ operation: String) throws(HTTPError) {
        guard code != CURLE_OK else { return }
        let detail = String(cString: errorBuffer)
        let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        if HTTPError.isCertificateAlertMessage(message) {
            throw HTTPError(
                code: .tls, message: "\(operation): \(message) (curl error \(code.rawValue))",
                hint: "the server refused the TLS handshake over a certificate: check the client certificate is signed by the CA the server trusts and still valid",
                curlCode: Int(code.rawValue))
        }
        throw HTTPError(
            code: Self.classify(code), message: "\(operation): \(message) (curl error \(code.rawValue))",
            hint: Self.hint(code), curlCode: Int(code.rawValue))
    }

    static func classify(_ code: CURLcode) -> HTTPError.Code {
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return .timeout
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_CERTPROBLEM, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR:
            return .tls
        case CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_SEND_ERROR,
            CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_SSL_CONNECT_ERROR, CURLE_HTTP2,
            CURLE_HTTP2_STREAM, CURLE_HTTP3, CURLE_QUIC_CONNECT_ERROR:
            return .transport
        default:
            return .invalidRequest
        }
    }

    private static func hint(_ code: CURLcode) -> String? {
        switch code {
        case CURLE_PEER_FAILED_VERIFICATION:
            "the server's certificate is not trusted; configure its CA file or pinned public key (verification stays on)"
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            "the server's public key does not match the pinned one; check the pin or whether the server was replaced"
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT:
            "check the URL, the network, and the https_proxy/no_proxy environment variables"
        default: nil
        }
    }

    func set(_ option: CURLoption, _ value: Int) throws(HTTPError) {
        try check(cc_setopt_long(raw, option, value), "setting curl option \(option.rawValue)")
    }

    /// libcurl copies string options (since 7.17.0), so the Swift string may go away after this.
    func set(_ option: CURLoption, _ value: String) throws(HTTPError) {
        try check(value.withCString { cc_setopt_string(raw, option, $0) }, "setting curl option \(option.rawValue)")
    }

    func set(_ option: CURLoption, offset value: Int64) throws(HTTPError) {
        try check(cc_setopt_off_t(raw, option, curl_off_t(value)), "setting curl option \(option.rawValue)")
    }

    func set(_ option: CURLoption, pointer value: UnsafeMutableRawPointer?) throws(HTTPError) {
        try check(cc_setopt_pointer(raw, option, value), "setting curl option \(option.rawValue)")
    }

    /// libcurl copies the bytes (`CURL_BLOB_COPY` in the shim), so `value` may go away after this.
    func set(_ option: CURLoption, blob value: [UInt8]) throws(HTTPError) {
        let code = value.withUnsafeBytes { cc_setopt_blob(raw, option, $0.baseAddress, $0.count) }
        try check(code, "setting curl option \(option.rawValue)")
    }

    func set(_ option: CURLoption, callback value: cc_data_callback) throws(HTTPError) {
        try check(cc_setopt_data_callback(raw, option, value), "setting curl callback \(option.rawValue)")
    }

    func setProgress(_ value: cc_xferinfo_callback) throws(HTTPError) {
        try check(cc_setopt_xferinfo_callback(raw, value), "setting curl progress callback")
    }

    /// Replaces the request header list; the handle owns and frees it.
    func setHeaders(_ lines: [String]) throws(HTTPError) {
        var list: UnsafeMutablePointer<curl_slist>?
        for line in lines {
            guard let appended = curl_slist_append(list, line) else {
                if let list { curl_slist_free_all(list) }
                throw HTTPError(code: .invalidRequest, message: "curl_slist_append failed")
            }
            list = appended
        }
        try check(cc_setopt_slist(raw, CURLOPT_HTTPHEADER, list), "setting request headers")
        if let headerList { curl_slist_free_all(headerList) }
        headerList = list
    }

    func perform() throws(HTTPError) {
        errorBuffer[0] = 0
        try check(curl_easy_perform(raw), "request failed")
    }

    func responseCode() throws(HTTPError) -> Int {
        var code = 0
        try check(cc_getinfo_long(raw, CURLINFO_RESPONSE_CODE, &code), "reading the response code")
        return code
    }
}
