//! A thread of lower CPU priority for work that may wait while requests are answered (and, at
//! normal priority, the group-commit writer's thread on PostgreSQL: see `services::writer`).
//!
//! Composing and writing an e-mail costs about as much CPU as answering the reset request that
//! queued it. On the request threads, a burst of resets spent half the two cores on e-mails
//! while requesters waited for their answers. The outbox sends from here instead: when the
//! cores are idle the mail goes out at once, as before; when they are saturated the answers go
//! first and the e-mails, already durable in the outbox, follow the burst.
//!
//! Only CPU work that holds nothing others wait for runs here: the outbox's database statements
//! stay on the request runtime, so a starved thread never sits on the one SQLite connection.
//! Threads this runtime starts (tokio's blocking pool, used by the file transport) inherit the
//! priority.

use std::{io, thread};

use tokio::{
    runtime::{Builder, Handle},
    sync::oneshot,
};

/// How much lower than the request threads: with nice 10 a busy thread here gets about a tenth
/// of what a request thread gets while both want a core, and everything when they do not.
pub const MAIL_NICE: i32 = 10;

/// A current-thread Tokio runtime on its own OS thread at a lower priority. Dropping it stops
/// the runtime once its tasks reach an `.await`.
pub struct Background {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Background {
    /// Starts the thread `name` at `nice` (Linux; elsewhere at normal priority). With `nice` 0
    /// the thread keeps the priority of the thread that starts it.
    pub fn start(name: &str, nice: i32) -> io::Result<Self> {
        let runtime = Builder::new_current_thread()
            .enable_all()
            .thread_name(format!("{name}-bloqueo"))
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready, started) = std::sync::mpsc::channel();
        let thread = thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let _ = ready.send(if nice == 0 {
                    Ok(())
                } else {
                    lower_priority(nice)
                });
                // A dropped sender ends the wait too.
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        started
            .recv()
            .map_err(|_| io::Error::other("el hilo de fondo terminó al iniciar"))??;
        Ok(Background {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // Dropped inside a runtime (a test's, at its end): joining there could block a
            // worker; the thread ends by itself.
            if Handle::try_current().is_err() {
                let _ = thread.join();
            }
        }
    }
}

/// Lowers the calling thread's priority. On Linux the nice value belongs to the thread, and
/// threads it creates inherit it.
#[cfg(target_os = "linux")]
fn lower_priority(nice: i32) -> io::Result<()> {
    // SAFETY: plain system calls on the calling thread's own id; no memory is shared.
    let result = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice)
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority(_nice: i32) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The nice value of the calling thread, from the kernel's own record of it.
    fn own_nice() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // Fields after the command name (which is in parentheses and may hold spaces).
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        rest.split(' ').nth(16).unwrap().parse().unwrap()
    }

    #[test]
    fn tasks_and_their_blocking_work_run_at_the_lower_priority() {
        let here = own_nice();
        assert!(here < 7, "the tests run at normal priority");
        let background = Background::start("prueba-fondo", 7).unwrap();
        let (task, blocking) = wait(background.handle().spawn(async {
            let task = own_nice();
            let blocking = tokio::task::spawn_blocking(own_nice).await.unwrap();
            (task, blocking)
        }));
        assert_eq!(task, 7, "the runtime's thread");
        assert_eq!(blocking, 7, "a thread of its blocking pool");
        assert_eq!(own_nice(), here, "the caller keeps its priority");
    }

    #[test]
    fn dropping_it_ends_the_thread() {
        let background = Background::start("prueba-fin", 1).unwrap();
        let handle = background.handle().clone();
        drop(background);
        // The runtime is gone: nothing spawned on it runs any more.
        let task = handle.spawn(async { 1 });
        let outcome = Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(task);
        assert!(outcome.is_err());
    }

    fn wait<T>(task: tokio::task::JoinHandle<T>) -> T {
        Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(task)
            .unwrap()
    }
}
