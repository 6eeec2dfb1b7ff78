import { createRoot } from "react-dom/client";
import "../shared/styles.css";
import { SignUp } from "./SignUp";

createRoot(document.getElementById("root")!).render(<SignUp />);
