//! Uploads one file three ways: `cargo run -p multipart-upload --example upload -- MODE URL FILE`
//! with MODE `form` (multipart POST), `put` (raw body) or `tus` (resumable; rerun after an
//! interruption to continue).

use multipart_upload::{FileBody, Form, Tus, Uploader};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, url, file] = args.as_slice() else {
        eprintln!("usage: upload form|put|tus URL FILE");
        std::process::exit(2);
    };
    let uploader = Uploader::new();
    match mode.as_str() {
        "form" => {
            let response = uploader.send(url, Form::new().file("file", file)?)?;
            println!("{} {}", response.status, response.text());
        }
        "put" => {
            let response = uploader.put(url, FileBody::open(file)?)?;
            println!("{} {}", response.status, response.text());
        }
        "tus" => {
            let done = Tus::new(uploader).upload(url, FileBody::open(file)?)?;
            println!(
                "{} ({} bytes, {} sent by this run, resumed: {})",
                done.upload_url, done.size, done.sent, done.resumed
            );
        }
        other => return Err(format!("unknown mode `{other}`").into()),
    }
    Ok(())
}
