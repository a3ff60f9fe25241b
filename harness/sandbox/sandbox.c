/*
 * rthooks-sandbox: start one implementation process for one case, contained.
 *
 * The harness runs implementations nobody vouches for (harness/sandbox.py says why this is
 * C: a Python launcher costs ~20 ms a case, this costs well under one). Usage:
 *
 *   rthooks-sandbox [options] -- PROGRAM ARG...
 *
 *   -m pidns|subreaper   containment (default pidns): a new PID namespace whose init is this
 *                        program, so every descendant dies with it and none can see or signal the
 *                        harness; or, where namespaces are not allowed, a child subreaper that
 *                        kills every remaining descendant when the program ends
 *   -u                   with pidns, also a new user namespace (unprivileged users)
 *   -w DIR               the program may write only under DIR (repeatable). With pidns the rest of
 *                        the filesystem is mounted read-only (and the program gets a /proc of its
 *                        own PID namespace); with the subreaper, where no namespace can be made, a
 *                        Landlock ruleset says the same (Linux 5.13+; from Landlock ABI 6 it also
 *                        keeps the program from signalling any process outside its own tree, the
 *                        harness included). Without -w, or without Landlock, writes are not limited.
 *   -e FD                report setup failures as text on FD (close-on-exec: EOF means exec'd)
 *   -k FD                keep FD open in the program (the observation channel)
 *   -g FILE              write our pid to FILE first (a cgroup's cgroup.procs: the pids limit)
 *   -a BYTES -f BYTES -t SECONDS -n COUNT -o COUNT
 *                        RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_CPU, RLIMIT_NPROC, RLIMIT_NOFILE
 *                        (RLIMIT_CORE is always 0): in force before the program's first instruction
 *   -c CPU,CPU...        the CPU affinity the program starts with
 *   -x NAME=VALUE        the program's environment (repeatable): the sandbox itself runs with an
 *                        empty one, so nothing a case puts in the environment (LD_PRELOAD, say)
 *                        acts on anything but the program
 *   -i SIG,SIG...        signal numbers the program starts with ignored (setup.launch); every
 *                        other disposition is the default and the signal mask is empty, whatever
 *                        the harness inherited (nohup, a shell's traps)
 *
 * The sandbox ends the way the program ended: the same exit status, or death by the same signal.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#define RTH_MOUNT_ATTR_RDONLY 0x00000001

struct rth_mount_attr {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};

/* Landlock, spelled out here so that older kernel headers still build the sandbox. */
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_FS_WRITE_FILE (1ULL << 1)
#define LL_FS_REMOVE_DIR (1ULL << 4)
#define LL_FS_REMOVE_FILE (1ULL << 5)
#define LL_FS_MAKE_CHAR (1ULL << 6)
#define LL_FS_MAKE_DIR (1ULL << 7)
#define LL_FS_MAKE_REG (1ULL << 8)
#define LL_FS_MAKE_SOCK (1ULL << 9)
#define LL_FS_MAKE_FIFO (1ULL << 10)
#define LL_FS_MAKE_BLOCK (1ULL << 11)
#define LL_FS_MAKE_SYM (1ULL << 12)
#define LL_FS_REFER (1ULL << 13)    /* ABI 2 */
#define LL_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)               /* ABI 6 */

struct ll_ruleset_attr {
    uint64_t handled_access_fs, handled_access_net, scoped;
};
struct ll_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

#define MAX_WRITABLE 16
#define MAX_ENV 256

static int err_fd = -1;

/* Report a setup failure to the harness and end with status 125 (the program never ran). */
static void fail(const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
    if (errno) n += snprintf(buf + n, sizeof buf - n, ": %s", strerror(errno));
    if (n >= (int)sizeof buf) n = sizeof buf - 1;
    if (err_fd >= 0 && write(err_fd, buf, n) < 0) { /* nothing more to do */ }
    _exit(125);
}

static void set_limit(int resource, const char *text) {
    if (!text) return;
    rlim_t v = (rlim_t)strtoull(text, NULL, 10);
    struct rlimit rl = {v, v};
    if (setrlimit(resource, &rl) < 0) {
        /* A hard limit already lower than ours stays: lower the soft one only. */
        struct rlimit cur;
        if (getrlimit(resource, &cur) == 0 && cur.rlim_max != RLIM_INFINITY && cur.rlim_max < v) return;
        fail("setrlimit(%d)", resource);
    }
}

static void write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) fail("open %s", path);
    ssize_t n = write(fd, text, strlen(text));
    if (n < 0) fail("write %s", path);
    close(fd);
}

static void mount_attr(const char *path, uint64_t set, uint64_t clr) {
    struct rth_mount_attr a = {set, clr, 0, 0};
    if (syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &a, sizeof a) < 0)
        fail("mount_setattr %s", path);
}

/* Every disposition back to the default and an empty mask, then the case's ignored signals. */
static void reset_signals(const char *ignore) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        sigaction(s, &sa, NULL); /* glibc's reserved real-time signals refuse: harmless */
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (!ignore) return;
    sa.sa_handler = SIG_IGN;
    const char *p = ignore;
    while (*p) {
        int s = (int)strtol(p, (char **)&p, 10);
        if (s > 0 && s < NSIG && s != SIGKILL && s != SIGSTOP && sigaction(s, &sa, NULL) < 0) fail("ignore signal %d", s);
        if (*p == ',') p++;
        else if (*p) fail("bad signal list %s", ignore);
    }
}

static void set_cpus(const char *cpus) {
    if (!cpus) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    const char *p = cpus;
    while (*p) {
        long c = strtol(p, (char **)&p, 10);
        if (c < 0 || c >= CPU_SETSIZE) fail("bad CPU %ld", c);
        CPU_SET((int)c, &set);
        if (*p == ',') p++;
        else if (*p) fail("bad CPU list %s", cpus);
    }
    if (sched_setaffinity(0, sizeof set, &set) < 0) fail("sched_setaffinity %s", cpus);
}

/* Only 0, 1, 2 and the observation channel reach the program. */
/* Writes only under the -w folders (and to the harmless character devices), where the kernel has
 * Landlock; from ABI 6 no signal to, and no abstract socket of, any process outside the program's
 * own tree. Used where no mount namespace can make the filesystem read-only. */
static void landlock_writes(const char *const *dirs, int n) {
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
    if (abi < 1) return; /* no Landlock here: describe() in harness/sandbox.py says so */
    uint64_t dir_rights = LL_FS_WRITE_FILE | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE | LL_FS_MAKE_CHAR |
                          LL_FS_MAKE_DIR | LL_FS_MAKE_REG | LL_FS_MAKE_SOCK | LL_FS_MAKE_FIFO |
                          LL_FS_MAKE_BLOCK | LL_FS_MAKE_SYM;
    uint64_t file_rights = LL_FS_WRITE_FILE;
    if (abi >= 2) dir_rights |= LL_FS_REFER;
    if (abi >= 3) { dir_rights |= LL_FS_TRUNCATE; file_rights |= LL_FS_TRUNCATE; }
    struct ll_ruleset_attr attr = {dir_rights, 0, abi >= 6 ? LL_SCOPE_SIGNAL | LL_SCOPE_ABSTRACT_UNIX_SOCKET : 0};
    size_t attr_size = abi >= 6 ? sizeof attr : sizeof attr.handled_access_fs;
    int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
    if (rs < 0) fail("landlock_create_ruleset");
    static const char *const devices[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"};
    for (int i = 0; i < n + 5; i++) {
        const char *path = i < n ? dirs[i] : devices[i - n];
        int fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0) {
            if (i < n) fail("open %s", path);
            continue;
        }
        struct ll_path_beneath_attr rule = {i < n ? dir_rights : file_rights, fd};
        if (syscall(SYS_landlock_add_rule, rs, LL_RULE_PATH_BENEATH, &rule, 0) < 0) fail("landlock rule %s", path);
        close(fd);
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail("PR_SET_NO_NEW_PRIVS");
    if (syscall(SYS_landlock_restrict_self, rs, 0) < 0) fail("landlock_restrict_self");
    close(rs);
}

/* Close every descriptor from 3 up except `keep` (the observation channel) and err_fd: err_fd is
 * close-on-exec, so it stays open only until the exec, to carry the reason if the exec fails. */
static void close_others(int keep) {
    int kept[2] = {keep, err_fd};
    if (kept[0] > kept[1]) { int t = kept[0]; kept[0] = kept[1]; kept[1] = t; }
    unsigned int from = 3;
    for (int i = 0; i < 2; i++) {
        if (kept[i] < (int)from) continue;
        if (kept[i] > (int)from) syscall(SYS_close_range, from, (unsigned int)kept[i] - 1, 0);
        from = (unsigned int)kept[i] + 1;
    }
    syscall(SYS_close_range, from, ~0U, 0);
}

/* This process's copies of the program's pipes must not keep them open after the program ends. */
static void drop_stdio(int keep) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2) close(null);
    }
    if (keep >= 0) close(keep);
}

/* Die the way the program died, so the harness sees its status, not ours. */
static void mirror(int status) {
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        int s = WTERMSIG(status);
        struct rlimit zero = {0, 0};
        setrlimit(RLIMIT_CORE, &zero);
        signal(s, SIG_DFL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, s);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        kill(getpid(), s);
        kill(getpid(), SIGKILL); /* a signal whose default is not to terminate cannot be mirrored */
    }
    _exit(125);
}

/* Kill every process whose parent is `self` (after PR_SET_CHILD_SUBREAPER, every orphaned
 * descendant is re-parented to us), until none is left. */
static void kill_descendants(pid_t self) {
    for (int round = 0; round < 1000; round++) {
        int found = 0;
        DIR *d = opendir("/proc");
        if (!d) return;
        struct dirent *e;
        while ((e = readdir(d))) {
            char *end;
            long pid = strtol(e->d_name, &end, 10);
            if (*end || pid <= 0 || pid == self) continue;
            char path[64], buf[512];
            snprintf(path, sizeof path, "/proc/%ld/stat", pid);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) continue;
            ssize_t n = read(fd, buf, sizeof buf - 1);
            close(fd);
            if (n <= 0) continue;
            buf[n] = 0;
            char *rp = strrchr(buf, ')');
            long ppid = 0;
            char state = 0;
            if (!rp || sscanf(rp + 2, "%c %ld", &state, &ppid) != 2) continue;
            if (ppid == self) {
                found++;
                kill((pid_t)pid, SIGKILL);
            }
        }
        closedir(d);
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        if (!found) return;
        usleep(1000);
    }
}

int main(int argc, char **argv) {
    const char *mode = "pidns", *cgroup = NULL, *cpus = NULL, *ignore = NULL;
    const char *lim_as = NULL, *lim_fsize = NULL, *lim_cpu = NULL, *lim_nproc = NULL, *lim_nofile = NULL;
    const char *writable[MAX_WRITABLE];
    char *envp[MAX_ENV + 1];
    int nwritable = 0, nenv = 0, keep = -1, userns = 0, opt;
    while ((opt = getopt(argc, argv, "+m:uw:x:e:k:g:a:f:t:n:o:c:i:")) != -1) {
        switch (opt) {
        case 'm': mode = optarg; break;
        case 'u': userns = 1; break;
        case 'w':
            if (nwritable == MAX_WRITABLE) fail("too many -w");
            writable[nwritable++] = optarg;
            break;
        case 'x':
            if (nenv == MAX_ENV) fail("too many -x");
            envp[nenv++] = optarg;
            break;
        case 'e': err_fd = atoi(optarg); fcntl(err_fd, F_SETFD, FD_CLOEXEC); break;
        case 'k': keep = atoi(optarg); break;
        case 'g': cgroup = optarg; break;
        case 'a': lim_as = optarg; break;
        case 'f': lim_fsize = optarg; break;
        case 't': lim_cpu = optarg; break;
        case 'n': lim_nproc = optarg; break;
        case 'o': lim_nofile = optarg; break;
        case 'c': cpus = optarg; break;
        case 'i': ignore = optarg; break;
        default: errno = 0; fail("usage: rthooks-sandbox [options] -- PROGRAM ARG...");
        }
    }
    if (optind >= argc) { errno = 0; fail("no program to run"); }
    char **prog = argv + optind;
    envp[nenv] = NULL;
    errno = 0;

    /* The harness may signal us only with SIGKILL; nothing the program sends can stop the run. */
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD) signal(s, SIG_IGN);

    if (cgroup) {
        char pid[32];
        snprintf(pid, sizeof pid, "%d", (int)getpid());
        write_file(cgroup, pid);
    }
    struct rlimit zero = {0, 0};
    setrlimit(RLIMIT_CORE, &zero);
    set_limit(RLIMIT_AS, lim_as);
    set_limit(RLIMIT_FSIZE, lim_fsize);
    set_limit(RLIMIT_CPU, lim_cpu);
    set_limit(RLIMIT_NPROC, lim_nproc);
    set_limit(RLIMIT_NOFILE, lim_nofile);

    int pidns = strcmp(mode, "pidns") == 0;
    if (!pidns && strcmp(mode, "subreaper") != 0) { errno = 0; fail("unknown mode %s", mode); }
    if (pidns) {
        uid_t uid = getuid();
        gid_t gid = getgid();
        /* A mount namespace always: the program's /proc must be its PID namespace's. */
        int flags = CLONE_NEWPID | CLONE_NEWNS | (userns ? CLONE_NEWUSER : 0);
        if (unshare(flags) < 0) fail("unshare");
        if (userns) {
            char map[64];
            snprintf(map, sizeof map, "%d %d 1", (int)uid, (int)uid);
            write_file("/proc/self/setgroups", "deny");
            write_file("/proc/self/uid_map", map);
            snprintf(map, sizeof map, "%d %d 1", (int)gid, (int)gid);
            write_file("/proc/self/gid_map", map);
        }
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail("make / private");
        if (nwritable) {
            for (int i = 0; i < nwritable; i++)
                if (mount(writable[i], writable[i], NULL, MS_BIND | MS_REC, NULL) < 0) fail("bind %s", writable[i]);
            mount_attr("/", RTH_MOUNT_ATTR_RDONLY, 0);
            for (int i = 0; i < nwritable; i++) mount_attr(writable[i], 0, RTH_MOUNT_ATTR_RDONLY);
            /* The working directory was entered before the mounts: enter it again, through them. */
            char cwd[4096];
            if (!getcwd(cwd, sizeof cwd) || chdir(cwd) < 0) fail("re-enter the working directory");
        }
    } else if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
        fail("PR_SET_CHILD_SUBREAPER");
    }

    int status_pipe[2] = {-1, -1};
    if (pidns && pipe2(status_pipe, O_CLOEXEC) < 0) fail("pipe");
    pid_t child = fork();
    if (child < 0) fail("fork");
    if (child == 0 && pidns) {
        /* init of the new PID namespace: start the program as pid 2 (pid 1 ignores default
         * signals, which would change what the program observes), reap, and report its status.
         * When init exits, the kernel kills everything left in the namespace. */
        close(status_pipe[0]);
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) fail("mount /proc");
        pid_t prog_pid = fork();
        if (prog_pid < 0) fail("fork");
        if (prog_pid == 0) {
            close(status_pipe[1]);
            child = 0;
            goto exec_program;
        }
        drop_stdio(keep);
        if (err_fd >= 0) close(err_fd);
        for (;;) {
            int st;
            pid_t got = waitpid(-1, &st, 0);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) _exit(125);
            if (got == prog_pid) {
                if (write(status_pipe[1], &st, sizeof st) < 0) _exit(125);
                _exit(0);
            }
        }
    }
    if (child == 0) {
    exec_program:
        /* In a PID namespace the program leads its own session, as it did before the sandbox; under
         * the subreaper it stays in our process group, so the harness's group kill reaches it. */
        if (pidns && setsid() < 0) fail("setsid");
        errno = 0;
        set_cpus(cpus);
        reset_signals(ignore);
        if (!pidns && nwritable) landlock_writes(writable, nwritable);
        close_others(keep);
        execve(prog[0], prog, envp); /* the harness gives an absolute path */
        fail("cannot start %s", prog[0]);
    }
    /* The outer process, in the harness's namespaces. */
    drop_stdio(keep);
    if (err_fd >= 0) close(err_fd);
    int st = 0;
    if (pidns) {
        close(status_pipe[1]);
        int prog_status = 0;
        ssize_t n = read(status_pipe[0], &prog_status, sizeof prog_status);
        while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
        }
        if (n != sizeof prog_status) mirror(st); /* init died first (killed): mirror that */
        mirror(prog_status);
    }
    while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
    }
    kill_descendants(getpid());
    mirror(st);
    return 125;
}
