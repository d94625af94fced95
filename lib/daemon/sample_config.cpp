#include "daemon/sample_config.hpp"

namespace sup {

namespace {

// Our own wording. Lines starting with ';' are comments; a value shown after
// ';' on a commented option is its default unless said otherwise.
constexpr std::string_view kSample = R"(; Sample supervisord configuration (supervisor-cpp).
;
; Lines starting with ';' are comments. Options that are commented out show
; their default value; uncomment and edit them to change it. The sections
; below are read by supervisord, supervisorctl or both; see supervisord(8),
; supervisorctl(1) and supervisord.conf(5) for the details.
;
; Any value may refer to environment variables of supervisord as
; %(ENV_NAME)s; %(here)s is the directory of this file.

; A control server on a UNIX domain socket (supervisorctl talks to it).
[unix_http_server]
file=/tmp/supervisor.sock   ; socket path
;chmod=0700                 ; permission bits of the socket file
;chown=nobody:nogroup       ; owner (and group) of the socket file; default: the daemon's user
;username=user              ; HTTP basic authentication user; default: no authentication
;password=123               ; plain text, or {SHA} followed by the hex SHA-1 of the password

; A control server on TCP. Disabled unless the section is present; without a
; username it accepts every client that can reach the port.
;[inet_http_server]
;port=127.0.0.1:9001        ; HOST:PORT, or *:PORT / :PORT for every interface
;username=user              ; default: no authentication
;password=123               ; default: no authentication

; The daemon itself. Every option here can also be given on the command line.
[supervisord]
logfile=/tmp/supervisord.log ; daemon log; default: supervisord.log in the start directory
;logfile_maxbytes=50MB        ; rotate the daemon log at this size; 0 = never rotate
;logfile_backups=10           ; rotated daemon logs to keep; 0 = none
;loglevel=info                ; critical, error, warn, info, debug, trace or blather
pidfile=/tmp/supervisord.pid ; default: supervisord.pid in the start directory
;nodaemon=false               ; true: stay in the foreground
;silent=false                 ; true (with nodaemon): no copy of the log on stdout
;minfds=1024                  ; file descriptors needed at start (soft limit raised to this)
;minprocs=200                 ; processes needed at start (soft limit raised to this)
;umask=022                    ; umask of the daemon and its children
;user=supervisord             ; drop privileges to this user at start; default: stay as started
;identifier=supervisor        ; name of this instance (XML-RPC getIdentification)
;directory=/tmp               ; change to this directory when detaching; default: stay
;nocleanup=false              ; true: keep the AUTO child logs of earlier runs
;childlogdir=/tmp             ; where AUTO child logs go; default: $TMPDIR or /tmp
;strip_ansi=false             ; true: remove ANSI escape sequences from child output
;environment=KEY="value"      ; added to every child's environment; default: none

; The XML-RPC interface that supervisorctl and other clients use. Keep it.
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

; Settings of supervisorctl.
[supervisorctl]
serverurl=unix:///tmp/supervisor.sock ; unix:///path for a socket, http://host:port for TCP
;username=chris               ; must match the server's username
;password=123                 ; must match the server's password (plain text here)
;prompt=mysupervisor          ; interactive prompt; default: supervisor
;history_file=~/.sc_history   ; keep the interactive history here; default: none

; One [program:x] section per program. Only command= is required.
;[program:theprogramname]
;command=/bin/cat              ; the program and its arguments (no shell; use sh -c for that)
;process_name=%(program_name)s ; must contain %(process_num)s when numprocs > 1
;numprocs=1                    ; number of copies to run
;numprocs_start=0              ; first %(process_num)s
;directory=/tmp                ; change to this directory before exec; default: inherit
;umask=022                     ; default: inherit the daemon's
;priority=999                  ; lower starts earlier and stops later
;autostart=true                ; start when supervisord starts
;startsecs=1                   ; seconds it must stay up to count as started (0: at once)
;startretries=3                ; failed starts in a row before giving up (FATAL)
;autorestart=unexpected        ; restart when it exits: true, false or unexpected
;exitcodes=0                   ; exit codes that count as expected
;stopsignal=TERM               ; TERM, HUP, INT, QUIT, KILL, USR1 or USR2
;stopwaitsecs=10               ; seconds to wait after stopsignal before SIGKILL
;stopasgroup=false             ; send stopsignal to the whole process group
;killasgroup=false             ; send SIGKILL to the whole process group
;user=chrism                   ; run as this user (the daemon must be root)
;redirect_stderr=false         ; true: stderr goes to the stdout log
;stdout_logfile=AUTO           ; a path, AUTO (in childlogdir) or NONE
;stdout_logfile_maxbytes=1MB   ; rotate at this size; 0 = never (default 50MB)
;stdout_logfile_backups=10     ; rotated files to keep; 0 = none
;stdout_capture_maxbytes=1MB   ; capture-mode buffer size (default 0 = off)
;stdout_events_enabled=false   ; emit PROCESS_LOG_STDOUT events
;stdout_syslog=false           ; also send the output to syslog
;stderr_logfile=AUTO           ; as stdout_logfile, for stderr
;stderr_logfile_maxbytes=1MB   ; (default 50MB)
;stderr_logfile_backups=10
;stderr_capture_maxbytes=1MB   ; (default 0 = off)
;stderr_events_enabled=false
;stderr_syslog=false
;environment=A="1",B="2"       ; added to the daemon's environment; default: none
;serverurl=AUTO                ; SUPERVISOR_SERVER_URL given to the child
; Extensions of supervisor-cpp (see supervisord.conf(5), EXTENSIONS):
;ready=startsecs               ; when STARTING becomes RUNNING: startsecs, healthcheck or notify
;healthcheck=http://127.0.0.1:8080/health ; or tcp://HOST:PORT or exec:COMMAND; default: none
;healthcheck_interval=10       ; seconds between checks
;depends_on=otherprogram       ; start after (and stop before) these programs
;restart_delay=0               ; seconds to wait before restarting after an exit
;socket=tcp://127.0.0.1:8080   ; a listening socket held by the daemon, passed as fd 3

; An event listener pool: like a program, plus the events it subscribes to.
;[eventlistener:theeventlistenername]
;command=/bin/eventlistener    ; the listener program
;process_name=%(program_name)s
;numprocs=1
;events=EVENT                  ; comma-separated event types; required
;buffer_size=10                ; queued events per listener pool
;result_handler=supervisor.dispatchers:default_handler
;priority=-1                   ; default 999
;autostart=true
;autorestart=unexpected
;startsecs=1
;stopsignal=QUIT               ; default TERM
;stdout_logfile=AUTO
;stderr_logfile=AUTO

; A group of programs, controlled together as name:*.
;[group:thegroupname]
;programs=progname1,progname2  ; the [program:x] names; required
;priority=999                  ; the group's priority

; Further configuration files (often one per program). Relative patterns
; are relative to this file; included files cannot include again.
;[include]
;files = relative/directory/*.ini
)";

}  // namespace

std::string_view sample_config() { return kSample; }

}  // namespace sup
