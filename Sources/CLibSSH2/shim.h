#ifndef CLUSTERCTL_CLIBSSH2_SHIM_H
#define CLUSTERCTL_CLIBSSH2_SHIM_H
#include <libssh2.h>
#include <libssh2_sftp.h>

/* Function-like and shifted macros of libssh2.h do not import into Swift; these small typed
   shims stand in for the few the SSH transport uses. */

static inline LIBSSH2_SESSION *clusterctl_ssh2_session_init(void) {
    return libssh2_session_init_ex(NULL, NULL, NULL, NULL);
}

static inline LIBSSH2_CHANNEL *clusterctl_ssh2_channel_open_session(LIBSSH2_SESSION *session) {
    return libssh2_channel_open_ex(session, "session", sizeof("session") - 1,
                                   LIBSSH2_CHANNEL_WINDOW_DEFAULT, LIBSSH2_CHANNEL_PACKET_DEFAULT,
                                   NULL, 0);
}

/* The known_hosts type mask for a host key type from libssh2_session_hostkey(): plain host
   name, raw key bytes, and the key algorithm; 0 for a type known_hosts cannot hold. */
static inline int clusterctl_ssh2_knownhost_typemask(int hostkey_type) {
    int key;
    switch (hostkey_type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA: key = LIBSSH2_KNOWNHOST_KEY_SSHRSA; break;
    case LIBSSH2_HOSTKEY_TYPE_DSS: key = LIBSSH2_KNOWNHOST_KEY_SSHDSS; break;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: key = LIBSSH2_KNOWNHOST_KEY_ECDSA_256; break;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: key = LIBSSH2_KNOWNHOST_KEY_ECDSA_384; break;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: key = LIBSSH2_KNOWNHOST_KEY_ECDSA_521; break;
    case LIBSSH2_HOSTKEY_TYPE_ED25519: key = LIBSSH2_KNOWNHOST_KEY_ED25519; break;
    default: return 0;
    }
    return LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | key;
}

static const int clusterctl_ssh2_session_block_inbound = LIBSSH2_SESSION_BLOCK_INBOUND;
static const int clusterctl_ssh2_session_block_outbound = LIBSSH2_SESSION_BLOCK_OUTBOUND;
static const int clusterctl_ssh2_hostkey_hash_sha256 = LIBSSH2_HOSTKEY_HASH_SHA256;
static const int clusterctl_ssh2_stderr_stream = SSH_EXTENDED_DATA_STDERR;
static const unsigned long clusterctl_ssh2_sftp_open_write =
    LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC;
static const unsigned long clusterctl_ssh2_sftp_attr_permissions = LIBSSH2_SFTP_ATTR_PERMISSIONS;

#endif
