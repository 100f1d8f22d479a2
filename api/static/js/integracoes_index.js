// Omni → Integrações: the admin session bar and login.
import { adminSession, adminLogin } from "/static/js/common.js";

adminSession();
adminLogin();
