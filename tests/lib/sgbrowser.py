"""A headless Chromium for the portal suites (Debian's chromium and chromium-driver through
python3-selenium): available() says whether it can run, browser() starts one that accepts the
gateway's self-signed certificate (tests only), console_errors() lists what the page logged as
SEVERE (a Content-Security-Policy violation is one). Owner: src/web (tests)."""
import os
import shutil
import sys

CHROMIUM = shutil.which("chromium")
DRIVER = "/usr/bin/chromedriver"


def available():
    if not CHROMIUM or not os.access(DRIVER, os.X_OK):
        return False
    try:
        import selenium  # noqa: F401
    except ImportError:
        # Debian's python3-selenium lives in the system interpreter's dist-packages.
        sys.path.append("/usr/lib/python3/dist-packages")
    return True


def browser(width=1360, height=860):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    o.add_argument("--headless=new")
    if os.geteuid() == 0:
        o.add_argument("--no-sandbox")  # Chromium's sandbox refuses to run as root
    o.add_argument("--ignore-certificate-errors")  # the gateway's self-signed certificate: tests only
    o.add_argument(f"--window-size={width},{height}")
    o.add_argument("--disable-gpu")
    o.add_argument("--disable-dev-shm-usage")
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The driver's path is given, so selenium never tries to download one.
    return webdriver.Chrome(service=Service(executable_path=DRIVER), options=o)


def console_errors(d):
    return [e["message"] for e in d.get_log("browser") if e.get("level") == "SEVERE"]
