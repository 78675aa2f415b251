//! A real browser for the page tests: headless Chromium driven through ChromeDriver's
//! W3C WebDriver API (a few JSON calls over HTTP, so no client crate). Each [`Browser`]
//! is its own ChromeDriver and browser profile: a fresh browser, cookies and all.
//!
//! Chromium and ChromeDriver come from Debian's `chromium` and `chromium-driver`; when
//! they are missing, the first browser installs them with apt-get (as root), so the tests
//! run on a fresh machine. Without them and without a way to install them, the tests
//! fail saying so: they are never silently skipped.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The key under which WebDriver names an element.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Installs Chromium and ChromeDriver once per test run, if they are not there.
fn ensure_installed() {
    static INSTALLED: Mutex<bool> = Mutex::new(false);
    let mut done = INSTALLED.lock().unwrap_or_else(|p| p.into_inner());
    if *done || (Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists()) {
        *done = true;
        return;
    }
    let status = Command::new("apt-get")
        .args(["install", "-y", "-q", "chromium", "chromium-driver"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status();
    let ok = status.is_ok_and(|s| s.success());
    if !ok {
        // The package lists may be missing on a fresh machine.
        let _ = Command::new("apt-get").args(["update", "-q"]).status();
        let again = Command::new("apt-get")
            .args(["install", "-y", "-q", "chromium", "chromium-driver"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status();
        assert!(
            again.is_ok_and(|s| s.success()),
            "the page tests need Chromium and ChromeDriver: `apt-get install chromium \
             chromium-driver` failed (run the tests as root, or install them first)"
        );
    }
    *done = true;
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One headless Chromium with a profile of its own.
pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    /// `http://127.0.0.1:<port>/session/<id>`.
    session: String,
    profile: super::harness::TempDir,
}

/// Where `TWOFOLD_TEST_SCREENSHOTS` asks page tests to keep their screenshots, if it does.
pub fn screenshot_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("TWOFOLD_TEST_SCREENSHOTS").map(Into::into)
}

impl Browser {
    /// A new browser, `width` CSS pixels wide.
    pub async fn open(width: u32) -> Browser {
        ensure_installed();
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start chromedriver");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let profile = super::harness::TempDir(std::env::temp_dir().join(format!(
            "twofold-chromium-{}",
            uuid::Uuid::new_v4().simple()
        )));
        std::fs::create_dir_all(&profile.0).unwrap();
        // The flags this machine's closed network needs (no background connections).
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--hide-scrollbars".to_owned(),
            "--force-device-scale-factor=1".to_owned(),
            format!("--window-size={width},900"),
            format!("--user-data-dir={}", profile.0.display()),
        ];
        let mut options = json!({"binary": CHROMIUM, "args": args});
        // A desktop window is at least 500 pixels wide: a phone's screen is emulated.
        if width < 500 {
            options["mobileEmulation"] =
                json!({"deviceMetrics": {"width": width, "height": 740, "pixelRatio": 1.0}});
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
        }}});
        let res: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("chromedriver did not answer")
            .json()
            .await
            .unwrap();
        let id = res["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {res}"))
            .to_owned();
        Browser {
            driver,
            http,
            session: format!("{base}/session/{id}"),
            profile,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res: Value = req.send().await.unwrap().json().await.unwrap();
        if let Some(err) = res["value"].get("error") {
            panic!("webdriver {path}: {err}: {}", res["value"]["message"]);
        }
        res["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }

    pub async fn url(&self) -> String {
        self.get("/url").await.as_str().unwrap().to_owned()
    }

    /// The elements that match `css`.
    pub async fn all(&self, css: &str) -> Vec<String> {
        self.post("/elements", json!({"using": "css selector", "value": css}))
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e[ELEMENT].as_str().unwrap().to_owned())
            .collect()
    }

    /// The one element that matches `css` (panics, naming it, if there is none).
    pub async fn find(&self, css: &str) -> String {
        self.all(css)
            .await
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {css} on the page"))
    }

    pub async fn has(&self, css: &str) -> bool {
        !self.all(css).await.is_empty()
    }

    /// Types `text` into the field `css`.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/clear"), json!({})).await;
        self.post(&format!("/element/{e}/value"), json!({"text": text}))
            .await;
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/click"), json!({})).await;
    }

    /// Clicks `css`, which submits a form, and waits until the page it leads to has
    /// loaded (a click may return while the browser is still navigating).
    pub async fn submit(&self, css: &str) {
        self.script("window.__twofold_before_submit = true; return null")
            .await;
        self.click(css).await;
        for _ in 0..400 {
            let state = self
                .post(
                    "/execute/sync",
                    json!({"script": "return window.__twofold_before_submit === undefined \
                                      && document.readyState === 'complete'", "args": []}),
                )
                .await;
            if state == true {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("submitting {css} did not lead to a page");
    }

    /// The visible text of `css`.
    pub async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.get(&format!("/element/{e}/text"))
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let e = self.find(css).await;
        self.get(&format!("/element/{e}/attribute/{name}"))
            .await
            .as_str()
            .map(str::to_owned)
    }

    /// Runs `script` (a function body; `return` gives the answer) in the page.
    pub async fn script(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []}))
            .await
    }

    /// Runs `script` and waits for it to call `arguments[0]` with its answer.
    pub async fn script_async(&self, script: &str) -> Value {
        self.post("/execute/async", json!({"script": script, "args": []}))
            .await
    }

    /// The page as a PNG, also written to `save` when given.
    pub async fn screenshot(&self, save: Option<&Path>) -> Vec<u8> {
        let b64 = self.get("/screenshot").await;
        let png = data_encoding::BASE64
            .decode(b64.as_str().unwrap().as_bytes())
            .unwrap();
        if let Some(path) = save {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, &png).unwrap();
        }
        png
    }

    /// The browser's cookies for the current page, as WebDriver describes them.
    pub async fn cookies(&self) -> Vec<Value> {
        self.get("/cookie").await.as_array().unwrap().clone()
    }
}

/// Passkeys: virtual authenticators, through the W3C WebAuthn WebDriver extension (what
/// the browser's passkey prompt talks to instead of a device; it answers at once, the
/// user present and verified).
impl Browser {
    /// Adds a CTAP2 authenticator reached over `transport` (`internal`: built into this
    /// device; `usb`: a security key); answers its id.
    pub async fn add_virtual_authenticator(&self, transport: &str) -> String {
        let id = self
            .post(
                "/webauthn/authenticator",
                json!({
                    "protocol": "ctap2",
                    "transport": transport,
                    "hasResidentKey": true,
                    "hasUserVerification": true,
                    "isUserVerified": true,
                    "automaticPresenceSimulation": true,
                }),
            )
            .await;
        id.as_str().unwrap().to_owned()
    }

    /// The credentials authenticator `id` holds (each with its `signCount`).
    pub async fn virtual_credentials(&self, id: &str) -> Vec<Value> {
        self.get(&format!("/webauthn/authenticator/{id}/credentials"))
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    /// Removes authenticator `id` (its passkeys with it).
    pub async fn remove_virtual_authenticator(&self, id: &str) {
        self.call(
            reqwest::Method::DELETE,
            &format!("/webauthn/authenticator/{id}"),
            None,
        )
        .await;
    }
}

impl Browser {
    /// Waits until `css` matches an element (a page's script changed the page), panicking
    /// after 5 seconds.
    pub async fn wait_for(&self, css: &str) {
        for _ in 0..500 {
            if self.has(css).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let url = self.url().await;
        let text = self.script("return document.body.innerText").await;
        panic!("{css} never appeared on the page ({url}): {text}");
    }

    /// Ends the browser session (and with it the browser), then ChromeDriver.
    pub async fn close(self) {
        let _ = self.http.delete(&self.session).send().await;
    }

    /// Looks at the page as an accessibility checker does (axe-core: no serious or
    /// critical violation), and keeps a screenshot named `name` where [`screenshot_dir`]
    /// says, if it does.
    pub async fn look(&self, name: &str) {
        let script = format!(
            "{}\n;const done = arguments[0]; \
             axe.run(document, {{resultTypes: ['violations']}}).then(r => done(r.violations \
               .filter(v => v.impact === 'serious' || v.impact === 'critical') \
               .map(v => v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target).join(', '))));",
            axe_source()
        );
        let found = self.script_async(&script).await;
        assert_eq!(found, json!([]), "accessibility of the {name} page");
        if let Some(dir) = screenshot_dir() {
            self.screenshot(Some(&dir.join(format!("{name}.png"))))
                .await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // A browser whose session was not ended outlives its ChromeDriver (it was seen
        // left running after a test run, taking CPU from later benchmarks): every
        // process started with this browser's own profile directory is stopped.
        let _ = Command::new("pkill")
            .args(["-KILL", "-f", "--"])
            .arg(format!("--user-data-dir={}", self.profile.0.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The pinned axe-core, from the npm registry, fetched once into the build's temporary
/// directory and reused by later runs. Needs `npm` and the registry.
const AXE: &str = "axe-core-4.10.3";

fn axe_source() -> &'static str {
    static SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SOURCE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(AXE);
        let js = dir.join("package/axe.min.js");
        std::fs::create_dir_all(&dir).unwrap();
        let lock = std::fs::File::create(dir.with_extension("lock")).unwrap();
        lock.lock().unwrap();
        if !js.exists() {
            eprintln!(
                "fetching {AXE} for the accessibility checks into {}",
                dir.display()
            );
            let (name, version) = AXE.rsplit_once('-').unwrap();
            let packed = Command::new("npm")
                .args([
                    "pack",
                    "--silent",
                    &format!("{name}@{version}"),
                    "--pack-destination",
                ])
                .arg(&dir)
                .output()
                .expect("the accessibility checks need npm");
            assert!(
                packed.status.success(),
                "npm pack {AXE} failed: {}",
                String::from_utf8_lossy(&packed.stderr)
            );
            let tarball = dir.join(format!("{AXE}.tgz"));
            let unpacked = Command::new("tar")
                .arg("-xzf")
                .arg(&tarball)
                .arg("-C")
                .arg(&dir)
                .status()
                .unwrap();
            assert!(unpacked.success(), "cannot unpack {}", tarball.display());
        }
        std::fs::read_to_string(&js).unwrap()
    })
}

/// The text of the QR code a screenshot shows, read from its pixels as a phone camera
/// would.
pub fn read_qr(png_bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Grayscale => 1,
        other => panic!("unexpected screenshot colours {other:?}"),
    };
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        let p = &buf[(y * w + x) * channels..][..channels.min(3)];
        (p.iter().map(|&c| u32::from(c)).sum::<u32>() / p.len() as u32) as u8
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "expected one QR code on the screen");
    grids[0].decode().expect("the QR code does not decode").1
}
