"""sgbrowser - a real headless Chromium (Debian's chromium and chromium-driver, driven by
python3-selenium) for the portal's suites: start it, sign in, read console errors, wait for
a download. The gateway's self-signed certificate is accepted here, for the tests only.
Owner: src/web (tests)."""
import os
import re
import shutil
import sys

CHROMIUM = shutil.which("chromium")
DRIVER = "/usr/bin/chromedriver"


def available():
    """None when Chromium, its driver and selenium are there, else why not (for a skip)."""
    if not CHROMIUM or not os.access(DRIVER, os.X_OK):
        return "chromium or chromium-driver is not installed (scripts/deps.sh installs them)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        # Debian's python3-selenium lives in the system interpreter's dist-packages.
        sys.path.append("/usr/lib/python3/dist-packages")
        try:
            import selenium  # noqa: F401,F811
        except ImportError:
            return "python3-selenium is not installed"
    return None


def browser(downloads=None):
    """A headless Chromium; downloads (a directory) receives files without asking."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    o.add_argument("--headless=new")
    if os.geteuid() == 0:
        o.add_argument("--no-sandbox")  # Chromium's sandbox refuses to run as root
    o.add_argument("--ignore-certificate-errors")  # the gateway's self-signed certificate: tests only
    o.add_argument("--window-size=1360,860")
    o.add_argument("--disable-gpu")
    o.add_argument("--disable-dev-shm-usage")
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if downloads:
        o.add_experimental_option("prefs", {"download.default_directory": downloads,
                                            "download.prompt_for_download": False})
    d = webdriver.Chrome(service=Service(executable_path=DRIVER), options=o)
    d.set_page_load_timeout(60)
    if downloads:  # headless Chromium takes downloads only when told so over CDP
        d.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    return d


def console_errors(d):
    return [e["message"] for e in d.get_log("browser") if e.get("level") == "SEVERE"]


def alert_present(d):
    try:
        return d.switch_to.alert is not None
    except Exception:  # selenium's NoAlertPresentException
        return False


from sgweb import first_admin  # noqa: E402,F401  (the page tests' administrator)


def sign_in(d, base, name, password, wait_for):
    """Signs in on /login; True when the dashboard came."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    d.get(base + "/login")
    d.find_element(By.ID, "name").send_keys(name)
    d.find_element(By.ID, "password").send_keys(password, Keys.ENTER)
    return bool(wait_for(lambda: "Dashboard" in d.title, 20))


def downloaded(directory, name):
    """The bytes of a finished download, or None while it is missing or still partial."""
    path = os.path.join(directory, name)
    if not os.path.exists(path) or os.path.exists(path + ".crdownload"):
        return None
    with open(path, "rb") as f:
        data = f.read()
    return data or None


def text_of(d, by, what):
    """The text of the element, or "" while the page is being replaced: a wait_for predicate that
    reads an element found on the old page (stale) or before the new one has it must poll again,
    not end the suite with an exception (seen under load after a form post)."""
    try:
        return d.find_element(by, what).text
    except Exception:  # selenium's StaleElementReference / NoSuchElement
        return ""
