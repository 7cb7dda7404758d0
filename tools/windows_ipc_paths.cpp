/* zmqipc: checks of the Windows ipc path logic our libzmq patches add.

   0011 wide-char file calls (non-ASCII paths), 0012 ipc://* under
   GetTempPathW, 0013 error codes, 0014 "only a socket file may be replaced".
   tools/windows_cross_build.py builds it against the cross-built libzmq and
   tools/windows_cross_check.sh runs it under Wine. Nothing here needs AF_UNIX
   (Wine 8 has none), so it checks the file-system side only; the socket side
   is covered by the Windows CI job. Prints one line per check; exit status 0
   when all passed. */

#include "precompiled.hpp"
#include "err.hpp"
#include "ip.hpp"

#include <zmq.h>

#include <errno.h>
#include <stdio.h>
#include <string>

static int failures = 0;

static void check (bool ok_, const char *what_)
{
    printf ("%s: %s\n", ok_ ? "ok" : "FAIL", what_);
    if (!ok_)
        failures++;
}

static bool exists (const std::wstring &path_)
{
    return GetFileAttributesW (path_.c_str ()) != INVALID_FILE_ATTRIBUTES;
}

static std::wstring temp_dir ()
{
    wchar_t buffer[MAX_PATH + 1];
    const DWORD len = GetTempPathW (MAX_PATH + 1, buffer);
    return std::wstring (buffer, len);
}

static void write_file (const std::wstring &path_, const char *text_)
{
    const HANDLE file = CreateFileW (path_.c_str (), GENERIC_WRITE, 0, NULL,
                                     CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD written = 0;
    WriteFile (file, text_, static_cast<DWORD> (strlen (text_)), &written,
               NULL);
    CloseHandle (file);
}

static std::string read_file (const std::wstring &path_)
{
    const HANDLE file = CreateFileW (path_.c_str (), GENERIC_READ, 0, NULL,
                                     OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (file == INVALID_HANDLE_VALUE)
        return "<missing>";
    char buffer[64];
    DWORD got = 0;
    ReadFile (file, buffer, sizeof buffer, &got, NULL);
    CloseHandle (file);
    return std::string (buffer, got);
}

//  A directory name with Latin-1, Greek and CJK characters.
static const wchar_t non_ascii[] = L"zmqipc-J\u00f6rg-\u03a9-\u6d4b\u8bd5";

static void check_conversions (const std::wstring &dir_, std::string &utf8_)
{
    check (zmq::wide_to_utf8 (dir_.c_str (), utf8_), "UTF-16 to UTF-8");
    std::wstring back;
    check (zmq::utf8_to_wide (utf8_.c_str (), back) && back == dir_,
           "UTF-8 round trip of a non-ASCII path");
    errno = 0;
    check (zmq::ipc_unlink ("bad-\xff\xfe-utf8") == -1 && errno == EINVAL,
           "invalid UTF-8 path: EINVAL");
}

static void check_bind_keeps_user_file (void *ctx_,
                                        const std::wstring &dir_,
                                        const std::string &utf8_)
{
    const std::wstring file = dir_ + L"\\data.txt";
    write_file (file, "user data");
    zmq::ipc_file_id_t id;
    errno = 0;
    check (zmq::ipc_socket_file_id ((utf8_ + "\\data.txt").c_str (), &id) == -1
             && errno == ENOTSOCK,
           "a regular file is not a socket file (ENOTSOCK)");
    errno = 0;
    check (zmq::ipc_socket_file_id ((utf8_ + "\\missing").c_str (), &id) == -1
             && errno == ENOENT,
           "a missing file: ENOENT");

    void *pull = zmq_socket (ctx_, ZMQ_PULL);
    const std::string endpoint = "ipc://" + utf8_ + "\\data.txt";
    const int rc = zmq_bind (pull, endpoint.c_str ());
    check (rc == -1 && zmq_errno () == EADDRINUSE,
           "bind over a user's file fails with EADDRINUSE");
    check (read_file (file) == "user data", "... and leaves the file as it was");

    //  A bind of a free path works (Windows 10 1803+) or reports a real error
    //  (no AF_UNIX, as under Wine), never a stale errno.
    errno = EDOM;
    const std::string fresh = "ipc://" + utf8_ + "\\fresh";
    if (zmq_bind (pull, fresh.c_str ()) == 0) {
        check (true, "bind of a free non-ASCII path");
    } else {
        printf ("   (bind of a free path: %s)\n", zmq_strerror (zmq_errno ()));
        check (zmq_errno () != EDOM && zmq_errno () != 0,
               "a failed bind sets errno from the real failure");
    }
    zmq_close (pull);

    check (zmq::ipc_unlink ((utf8_ + "\\data.txt").c_str ()) == 0
             && !exists (file),
           "ipc_unlink removes a file on a non-ASCII path");
}

static void check_wildcard_dir (const std::wstring &base_)
{
    const std::wstring saved = temp_dir ();
    SetEnvironmentVariableW (L"TMP", base_.c_str ());
    std::string expected_prefix;
    zmq::wide_to_utf8 (temp_dir ().c_str (), expected_prefix);
    std::string path, file;
    const int rc = zmq::create_ipc_wildcard_address (path, file);
    SetEnvironmentVariableW (L"TMP", saved.c_str ());
    check (rc == 0, "ipc://* directory created");
    check (path.compare (0, expected_prefix.size (), expected_prefix) == 0
             && path.size () > expected_prefix.size (),
           "... inside GetTempPathW's (non-ASCII) directory");
    check (path.size () > 2 && path[1] == ':', "... as an absolute path");
    check (file == path + "\\socket", "... with the socket file inside");
    std::wstring wide;
    zmq::utf8_to_wide (path.c_str (), wide);
    const DWORD attributes = GetFileAttributesW (wide.c_str ());
    check (attributes != INVALID_FILE_ATTRIBUTES
             && (attributes & FILE_ATTRIBUTE_DIRECTORY),
           "... and it exists");
    check (zmq::ipc_rmdir (path.c_str ()) == 0 && !exists (wide),
           "ipc_rmdir removes it");
}

static void check_error_codes ()
{
    check (zmq::wsa_error_to_errno (ERROR_PATH_NOT_FOUND) == ENOENT,
           "Win32 ERROR_PATH_NOT_FOUND maps to ENOENT");
    check (zmq::wsa_error_to_errno (ERROR_ACCESS_DENIED) == EACCES,
           "Win32 ERROR_ACCESS_DENIED maps to EACCES");
    check (zmq::wsa_error_to_errno (99999) == EFAULT,
           "an unknown code maps to EFAULT instead of aborting");
}

int main ()
{
    const std::wstring dir = temp_dir () + non_ascii;
    RemoveDirectoryW (dir.c_str ());
    check (CreateDirectoryW (dir.c_str (), NULL) != 0, "non-ASCII test directory");
    std::string utf8;
    check_conversions (dir, utf8);

    void *ctx = zmq_ctx_new ();
    check_bind_keeps_user_file (ctx, dir, utf8);
    zmq_ctx_term (ctx);

    check_wildcard_dir (dir);
    check_error_codes ();

    check (zmq::ipc_rmdir (utf8.c_str ()) == 0 && !exists (dir),
           "ipc_rmdir removes a non-ASCII directory");
    printf ("%s\n", failures ? "SOME CHECKS FAILED" : "all ipc path checks passed");
    return failures ? 1 : 0;
}
